/**
 * JSON that keeps integers beyond 2^53 exact: uint ids up to 2^64-1 (and u64 values) sent by clients whose
 * numbers are 64-bit integers (Python's, Go's...) must come back as the same digits.
 *
 * `parseJson`: `JSON.parse`, unless the text holds a run of 16 or more digits that is not a fraction's (the only
 * way to write an integer above 2^53-1 = 9007199254740991); then lossless-json parses it, integers that are
 * not safe becoming `bigint`s and every other number the `number` JSON.parse makes. Duplicate keys with different
 * values are an error there (JSON.parse keeps the last).
 * `stringifyJson`: `JSON.stringify`; a value holding `bigint`s is written by lossless-json, which writes them as
 * their digits.
 */
import { isInteger, parse, stringify } from "lossless-json";

/** A digit run of 16+ that no digit or decimal point precedes and no decimal point or exponent follows. */
const LONG_INTEGER = /(?<![\d.])\d{16,}(?![\d.eE])/;

function parseNumber(text: string): number | bigint {
  if (isInteger(text)) {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) return BigInt(text);
    return n;
  }
  return Number(text);
}

/** True when `text` may hold an integer beyond 2^53-1 (a run of 16+ digits that is no fraction's). */
export function hasLongInteger(text: string): boolean {
  return LONG_INTEGER.test(text);
}

export function parseJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return parse(text, null, parseNumber);
}

export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    return stringify(value) as string;
  }
}
