/**
 * The last N lines of ffmpeg's stderr, kept quietly and written to the log only when ffmpeg fails. Credentials are
 * removed as lines come in (URL user:password and any extra secret strings), so nothing secret is ever stored.
 */
import { redactUrl } from '../log.ts';

export class StderrRing {
  private readonly lines: string[] = [];
  private partial = '';
  private lastKey = '';
  private lastLine = '';
  private repeats = 0;
  private readonly capacity: number;
  private readonly secrets: readonly string[];

  constructor(capacity = 100, secrets: readonly string[] = []) {
    this.capacity = capacity;
    // Only secrets long enough not to blank out ordinary words.
    this.secrets = secrets.filter((s) => s.length >= 3);
  }

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = parts.pop() ?? '';
    // A line without newline that grows without bound (should not happen) is cut, to keep memory bounded.
    if (this.partial.length > 4096) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const line of parts) if (line.trim() !== '') this.add(line);
  }

  snapshot(): string[] {
    return this.partial.trim() !== '' ? [...this.lines, this.clean(this.partial)] : [...this.lines];
  }

  clear(): void {
    this.lines.length = 0;
    this.partial = '';
    this.lastKey = '';
    this.repeats = 0;
  }

  private add(line: string): void {
    // ffmpeg repeats some warnings every frame (differing only in pointer addresses): keep one, count the rest.
    const key = line.replace(/0x[0-9a-f]+/gi, '');
    if (key === this.lastKey) {
      this.repeats += 1;
      this.lines[this.lines.length - 1] = `${this.lastLine} (repeated ${this.repeats} times)`;
      return;
    }
    this.lastKey = key;
    this.repeats = 0;
    this.lastLine = this.clean(line);
    this.lines.push(this.lastLine);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  private clean(line: string): string {
    let out = redactUrl(line.slice(0, 1000));
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}
