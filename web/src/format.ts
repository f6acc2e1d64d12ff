// Formatting for the screens: money as signed dollars and cents, business dates as written.

/** Cents (bigint, as the API sends int64) as `+$12.34`, `−$5.00` or `$0.00`. */
export function money(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  const dollars = absolute / 100n;
  const rest = (absolute % 100n).toString().padStart(2, "0");
  const grouped = dollars.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = cents === 0n ? "" : negative ? "\u2212" : "+";
  return `${sign}$${grouped}.${rest}`;
}

/** Cents as a number of dollars, for charts (exact for any realistic sum). */
export function dollars(cents: bigint): number {
  return Number(cents) / 100;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function parts(isoDate: string): { weekday: string; day: number; month: string; year: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) {
    return undefined;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return { weekday: WEEKDAYS[weekday], day, month: MONTHS[month - 1], year };
}

/** A business date (`2026-11-25`) as people read it: `Wed 25 Nov 2026`, the same in every
 * browser and time zone (it is a date, not an instant). */
export function businessDate(isoDate: string): string {
  const date = parts(isoDate);
  return date ? `${date.weekday} ${date.day} ${date.month} ${date.year}` : isoDate;
}

/** A short label for a chart axis: `25 Nov`. */
export function shortDate(isoDate: string): string {
  const date = parts(isoDate);
  return date ? `${date.day} ${date.month}` : isoDate;
}

/** Today's date where the browser is, as `2026-11-25` (a default for date pickers; the
 * services decide what "today" is for money). */
export function localToday(now: Date = new Date()): string {
  const month = String(now.getMonth() + 1).padStart(2, "0");
  const day = String(now.getDate()).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${day}`;
}

/** A task's name as lists show it: `UBERPOP-42 · Fix the button`. */
export function taskName(title: string, jiraId: string): string {
  if (!title) {
    return jiraId;
  }
  return jiraId ? `${jiraId} \u00b7 ${title}` : title;
}
