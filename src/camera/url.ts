/** Camera URLs carry credentials: find them (to scrub ffmpeg's stderr) and hide them (for logs). Pure. */
import { redactUrl } from '../log.ts';

/** Secrets in a camera URL (the password, and query values such as `?pwd=` or `?token=`), to scrub from ffmpeg's stderr and logs. */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const values = [parsed.password, decodeURIComponent(parsed.password)];
    for (const [name, value] of parsed.searchParams) if (/pass|pwd|token|secret|key|auth/i.test(name)) values.push(value);
    return [...new Set(values.filter((s) => s.length >= 3))];
  } catch {
    return [];
  }
}

/** A camera URL fit for logs: no user:password, no secret query values. */
export function displayUrl(url: string): string {
  let out = redactUrl(url);
  for (const secret of urlSecrets(url)) out = out.split(secret).join('***').split(encodeURIComponent(secret)).join('***');
  return out;
}
