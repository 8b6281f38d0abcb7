/**
 * The code points that take part in case-insensitive matching (IGlob), with
 * the same rules as a JavaScript RegExp with the `iu` flags (Unicode simple
 * case folding). A code point outside this set folds only to itself, so a
 * case-insensitive comparison needs the engine's folding only for these few
 * thousand code points. Built once, on first use (tens of milliseconds).
 */

let cased: string | undefined;
let casedSet: Set<number> | undefined;

/** Every code point whose case changes under some case mapping, as one string (code point order). */
export function casedCodePoints(): string {
  if (cased === undefined) {
    const parts: string[] = [];
    const buf = new Uint16Array(8192);
    let k = 0;
    // Every cased code point lies in planes 0 and 1 (checked by the tests against planes 2 to 16).
    for (let c = 0; c < 0x20000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue;
      if (c < 0x10000) buf[k++] = c;
      else {
        const v = c - 0x10000;
        buf[k++] = 0xd800 + (v >> 10);
        buf[k++] = 0xdc00 + (v & 0x3ff);
      }
      if (k >= buf.length - 2) {
        parts.push(String.fromCharCode.apply(null, buf.subarray(0, k) as unknown as number[]));
        k = 0;
      }
    }
    parts.push(String.fromCharCode.apply(null, buf.subarray(0, k) as unknown as number[]));
    cased = parts.join("").replace(/[^\p{Changes_When_Casemapped}]+/gu, "");
  }
  return cased;
}

/** True when `cp` may fold to, or from, another code point. */
export function isCased(cp: number): boolean {
  if (casedSet === undefined) {
    const set = new Set<number>();
    for (const ch of casedCodePoints()) set.add(ch.codePointAt(0)!);
    casedSet = set;
  }
  return casedSet.has(cp);
}

/** The cased code points a case-insensitive RegExp `source` (flags `iu`) matches, one code point each. */
export function casedMatches(source: string): number[] {
  const out: number[] = [];
  for (const m of casedCodePoints().matchAll(new RegExp(source, "giu"))) out.push(m[0].codePointAt(0)!);
  return out;
}
