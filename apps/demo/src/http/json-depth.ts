/**
 * The nesting depth of JSON text, found by one linear scan (no recursion,
 * no parse): `[` and `{` outside strings open a level, `]` and `}` close
 * one. Malformed text is not judged here (the parser reports it); the scan
 * only answers whether any point nests deeper than the bound.
 *
 * The HTTP API refuses bodies deeper than MAX_JSON_DEPTH (400 JsonTooDeep):
 * far above what any valid request needs (attributes nest at most 32
 * levels below a document, filters 32 And/Or/Not levels of two brackets
 * each), far below what recursive validation can take.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_SQUARE = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_SQUARE = 0x5d;
const CLOSE_CURLY = 0x7d;

export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) inString = true;
    else if (ch === OPEN_SQUARE || ch === OPEN_CURLY) {
      if (++depth > maxDepth) return true;
    } else if (ch === CLOSE_SQUARE || ch === CLOSE_CURLY) depth--;
  }
  return false;
}
