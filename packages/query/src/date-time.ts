/**
 * Date-times and durations of ranking expressions (`Dist` on a date-time
 * attribute, a `midpoint` of "6h"): `dateTimeMs` reads an ISO 8601
 * date or date-time (`2026-02-03`, `2026-02-03T12:13:14`,
 * `2026-02-03T12:13:14.5+01:00`, `...Z`; without an offset it is UTC) as
 * milliseconds since the epoch, `durationMs` a number of milliseconds or a
 * duration string (`500ms`, `30s`, `15m`, `6h`, `7d`, `2w`). Both answer
 * undefined for anything else (no locale-dependent `Date.parse`).
 */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds since the epoch of an ISO 8601 date or date-time (UTC unless it names an offset). */
export function dateTimeMs(text: string): number | undefined {
  if (text.length > 40) return undefined;
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + (frac === undefined ? 0 : Number(`0.${frac}`) * 1000);
  // Date.UTC maps years 0-99 to 1900-1999; set the year itself.
  if (year < 100) {
    const t = new Date(ms);
    t.setUTCFullYear(year);
    ms = t.getTime();
  }
  if (new Date(Date.UTC(year < 100 ? 2000 : year, month - 1, day)).getUTCDate() !== day) return undefined;
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    if (Number(digits.slice(0, 2)) > 23 || Number(digits.slice(2)) > 59) return undefined;
    ms -= sign * offset * 60_000;
  }
  return ms;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ["ms", 1],
  ["s", 1000],
  ["m", 60_000],
  ["h", 3_600_000],
  ["d", 86_400_000],
  ["w", 604_800_000],
]);

/** A duration in milliseconds: a finite number as is, or a string like "6h"; undefined otherwise. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || value.length > 32) return undefined;
  const m = DURATION.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS.get(m[2]!)!;
}
