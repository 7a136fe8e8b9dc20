/**
 * When the day's counters reset: a local time of day ("HH:MM", the device's time zone, TZ), default midnight.
 * Pure over the time it is given; Date's local calendar handles daylight saving (a reset at 02:30 on the night
 * the clocks skip that hour happens at 03:30).
 */

/** Parses "HH:MM" (24 h); throws a RangeError naming the value otherwise. */
export function parseTimeOfDay(text: string): { hours: number; minutes: number } {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match) throw new RangeError(`'${text}' is not a time of day HH:MM (00:00 to 23:59)`);
  return { hours: Number(match[1]), minutes: Number(match[2]) };
}

/** The first reset strictly after `ms` (epoch ms), at the local time of day `at`. */
export function nextResetAfter(ms: number, at: string): number {
  const { hours, minutes } = parseTimeOfDay(at);
  const day = new Date(ms);
  const candidate = new Date(day.getFullYear(), day.getMonth(), day.getDate(), hours, minutes, 0, 0).getTime();
  if (candidate > ms) return candidate;
  return new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1, hours, minutes, 0, 0).getTime();
}

/** Says once per day when the reset time has passed, given the frames' times in order. */
export class DailyReset {
  private readonly at: string;
  private next: number | undefined;

  constructor(at: string) {
    parseTimeOfDay(at);
    this.at = at;
  }

  /** True when `now` reached the reset time since the previous call (the first call only starts the clock). */
  due(now: number): boolean {
    if (this.next === undefined) {
      this.next = nextResetAfter(now, this.at);
      return false;
    }
    if (now < this.next) return false;
    this.next = nextResetAfter(now, this.at);
    return true;
  }
}
