/**
 * JSON text that keeps 64-bit integer attribute values exact: the same rule as wal-format's exact-json.ts
 * (repeated here because the query module depends on no other package).
 *
 * In memory an integer beyond the safe range (2^53-1) is a `bigint`; a `number` that happens to be integral but
 * unsafe (a `float` such as 1e20) stays a `number`. On storage the two must stay apart, so "exact JSON" is
 * ordinary JSON with one rule: an integer literal (no fraction, no exponent) is a `bigint` when it is beyond the
 * safe range, and every other number literal is a `number`. `stringifyExact` writes a `bigint` as its digits and
 * an integral unsafe `number` in exponent form (`1e+20`), so it reads back as a number. Plain JSON written by
 * `JSON.stringify` is not exact JSON (it writes 1e20 as 21 digits): formats that hold exact JSON say so with a
 * version (row batches v2, log entries v2, query index v8).
 *
 * `parseExact` uses `JSON.parse` when the text holds no run of 16 or more digits (the only way to write an
 * integer beyond 2^53-1), else a small strict parser. Errors: `SyntaxError`, as `JSON.parse` throws.
 */

/** A digit run of 16+ that no digit or decimal point precedes and no decimal point or exponent follows. */
const LONG_INTEGER = /(?<![\d.])-?\d{16,}(?![\d.eE])/;

/** True when `value` holds a bigint anywhere (arrays and plain objects are walked). */
export function hasBigInt(value: unknown): boolean {
  if (typeof value === "bigint") return true;
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasBigInt(v)) return true;
    return false;
  }
  for (const key of Object.keys(value)) if (hasBigInt((value as Record<string, unknown>)[key])) return true;
  return false;
}

function writeValue(value: unknown, out: string[]): boolean {
  switch (typeof value) {
    case "bigint":
      out.push(value.toString());
      return true;
    case "number":
      if (!Number.isFinite(value)) out.push("null");
      else if (Number.isInteger(value) && !Number.isSafeInteger(value)) out.push(value.toExponential());
      else out.push(JSON.stringify(value));
      return true;
    case "string":
      out.push(JSON.stringify(value));
      return true;
    case "boolean":
      out.push(value ? "true" : "false");
      return true;
    case "object": {
      if (value === null) {
        out.push("null");
        return true;
      }
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          if (!writeValue(value[i], out)) out.push("null");
        }
        out.push("]");
        return true;
      }
      out.push("{");
      let first = true;
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        const mark = out.length;
        out.push(first ? "" : ",", JSON.stringify(key), ":");
        if (!writeValue(v, out)) {
          out.length = mark;
          continue;
        }
        first = false;
      }
      out.push("}");
      return true;
    }
    default:
      return false; // undefined, functions, symbols: left out as JSON.stringify does
  }
}

/** `value` as exact JSON (module comment). Same text as `JSON.stringify` when `value` holds no bigint and no unsafe integral number. */
export function stringifyExact(value: unknown): string {
  const out: string[] = [];
  if (!writeValue(value, out)) throw new TypeError("stringifyExact: not a JSON value");
  return out.join("");
}

/** True when `text` may hold an integer beyond 2^53-1. */
export function hasLongInteger(text: string): boolean {
  return LONG_INTEGER.test(text);
}

/** Exact JSON text back to its value (module comment). */
export function parseExact(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return new Parser(text).document();
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
// Any quoted run without an unescaped quote; JSON.parse then checks it (control characters, escapes).
const STRING = /"(?:[^"\\]|\\.)*"/y;
const SPACE = /[ \t\n\r]*/y;

class Parser {
  #at = 0;
  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.value();
    this.space();
    if (this.#at !== this.text.length) this.fail("unexpected text after the value");
    return value;
  }

  private fail(what: string): never {
    throw new SyntaxError(`exact JSON: ${what} at position ${this.#at}`);
  }

  private space(): void {
    SPACE.lastIndex = this.#at;
    SPACE.exec(this.text);
    this.#at = SPACE.lastIndex;
  }

  private match(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.#at;
    const m = re.exec(this.text);
    if (m !== null) this.#at = re.lastIndex;
    return m;
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.#at)) this.fail("unexpected character");
    this.#at += word.length;
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.#at];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "t") {
      this.literal("true");
      return true;
    }
    if (c === "f") {
      this.literal("false");
      return false;
    }
    if (c === "n") {
      this.literal("null");
      return null;
    }
    const m = this.match(NUMBER);
    if (m === null) this.fail("unexpected character");
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }

  private string(): string {
    const m = this.match(STRING);
    if (m === null) this.fail("bad string");
    return JSON.parse(m[0]) as string;
  }

  private array(): unknown[] {
    this.#at++;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.#at] === "]") {
      this.#at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.#at++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected , or ]");
    }
  }

  private object(): Record<string, unknown> {
    this.#at++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text[this.#at] === "}") {
      this.#at++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.#at] !== '"') this.fail("expected a key");
      const key = this.string();
      this.space();
      if (this.text[this.#at++] !== ":") this.fail("expected :");
      const value = this.value();
      Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      this.space();
      const c = this.text[this.#at++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected , or }");
    }
  }
}
