/**
 * Messages waiting for the broker, bounded by count and by payload bytes. Beyond either bound the OLDEST message is
 * dropped and counted: after an outage the newest results matter most. A retained message replaces an older
 * buffered one on the same topic (only the last retained value would survive on the broker anyway).
 */
export interface BufferedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly qos: 0 | 1;
}

export class OfflineBuffer {
  private readonly items: BufferedMessage[] = [];
  private bytes = 0;
  private droppedCount = 0;
  readonly maxMessages: number;
  readonly maxBytes: number;

  constructor(limits: { maxMessages: number; maxBytes: number }) {
    this.maxMessages = limits.maxMessages;
    this.maxBytes = limits.maxBytes;
  }

  push(message: BufferedMessage): void {
    if (message.retain) {
      const index = this.items.findIndex((m) => m.retain && m.topic === message.topic);
      if (index >= 0) {
        this.bytes -= this.items[index].payload.length;
        this.items.splice(index, 1);
      }
    }
    if (message.payload.length > this.maxBytes || this.maxMessages === 0) {
      this.droppedCount += 1;
      return;
    }
    this.items.push(message);
    this.bytes += message.payload.length;
    while (this.items.length > this.maxMessages || this.bytes > this.maxBytes) {
      const dropped = this.items.shift()!;
      this.bytes -= dropped.payload.length;
      this.droppedCount += 1;
    }
  }

  /** Take everything, oldest first. */
  drain(): BufferedMessage[] {
    const out = this.items.splice(0, this.items.length);
    this.bytes = 0;
    return out;
  }

  /** Put messages back at the front (a flush interrupted by a new disconnect), still within the bounds. */
  unshift(messages: readonly BufferedMessage[]): void {
    const rest = this.drain();
    for (const m of [...messages, ...rest]) this.push(m);
  }

  get size(): number {
    return this.items.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get dropped(): number {
    return this.droppedCount;
  }
}
