/**
 * Tokenizer for BM25 text fields: Unicode word boundaries (UAX #29, as
 * `Intl.Segmenter` implements them), keeping word-like segments, then per
 * word (`normalize`): dropped when longer than `maxTokenLength`; lowercased
 * (locale-independent `toLowerCase`) unless case-sensitive; ASCII-folded
 * (`asciiFolding`: diacritics removed, "café" -> "cafe"); dropped when a
 * stop word (compared lowercased and folded); stemmed (`stemmer`, a
 * language's Snowball stemmer, text-language.ts).
 *
 * Speed: `Intl.Segmenter` costs ~2 us per short text, ~20 s for a million of
 * them, so pure-ASCII text takes a regular expression that implements the
 * same UAX #29 rules for the ASCII range (letters, digits, `_` joining;
 * `:` `.` `'` between letters; `.` `,` `;` `'` between digits). A test
 * checks it against `Intl.Segmenter` on random ASCII strings. Text with any
 * non-ASCII character goes through `Intl.Segmenter`.
 *
 * Pre-tokenized fields (`preTokenized`): the text is its tokens joined by
 * PRE_TOKENIZED_SEPARATOR (U+001F); `words` splits on it (empty tokens
 * ignored) and `normalize` applies the config as for words (a pre-tokenized
 * field's config keeps case, folds nothing, drops no stop word and does not
 * stem: text-field-options.ts), so tokens are used as they are, dropped only
 * when longer than `maxTokenLength`.
 *
 * A text of several elements (the strings of a `[]string` attribute) is
 * its elements joined by TEXT_ELEMENT_SEPARATOR (U+001E, `joinTextElements`):
 * each element is tokenized on its own and the text's tokens are theirs,
 * element after element (`tokenize` reports where each element's tokens
 * start). Phrase filters match within one element (token-filter.ts); every
 * other use of the tokens (BM25, the other token filters) sees them all.
 * In a pre-tokenized field U+001E is no separator (its text is its tokens).
 *
 * Config is per field and stored with the index, so a query is tokenized
 * exactly like the documents of each partition it searches. `k1` and `b`
 * (BM25) do not change the index; they are stored with it as the values it
 * was built under.
 */
import { ENGLISH_STOP_WORDS } from "./stop-words.ts";
import { textLanguage } from "./text-language.ts";

export interface TokenizerConfig {
  /** Lowercase tokens (default true). */
  readonly lowercase?: boolean;
  /**
   * Stop words to drop: a list, "english" for the built-in list, or
   * `{ language }` for that language's list (default none).
   */
  readonly stopWords?: "english" | readonly string[] | { readonly language: string };
  /** Locale for `Intl.Segmenter` (default "en"; word boundaries barely depend on it). */
  readonly locale?: string;
  /** Tokens longer than this many UTF-16 units are dropped (default 64). */
  readonly maxTokenLength?: number;
  /** Stem tokens with this language's stemmer (text-language.ts; default none). */
  readonly stemmer?: string | null;
  /** Remove diacritics and fold letters to ASCII where a folding exists (default false). */
  readonly asciiFolding?: boolean;
  /** BM25 term frequency saturation (default 1.2). */
  readonly k1?: number;
  /** BM25 length normalization, 0 to 1 (default 0.75). */
  readonly b?: number;
  /** The text is its tokens joined by PRE_TOKENIZED_SEPARATOR, not split into words (default false). */
  readonly preTokenized?: boolean;
}

/** The tokenizer config with defaults applied, as stored in an index. */
export interface ResolvedTokenizerConfig {
  readonly lowercase: boolean;
  /** Lowercased and (with asciiFolding) folded, sorted. */
  readonly stopWords: readonly string[];
  readonly locale: string;
  readonly maxTokenLength: number;
  readonly stemmer: string | null;
  readonly asciiFolding: boolean;
  readonly k1: number;
  readonly b: number;
  readonly preTokenized: boolean;
}

/** What joins the tokens of a pre-tokenized field's text (U+001F, the unit separator). */
export const PRE_TOKENIZED_SEPARATOR = "\u001f";

/** A pre-tokenized field's text of `tokens`; RangeError for a token holding the separator. */
export function joinTokens(tokens: readonly string[]): string {
  for (const token of tokens) if (token.includes(PRE_TOKENIZED_SEPARATOR)) throw new RangeError("a pre-tokenized token holds U+001F, the token separator");
  return tokens.join(PRE_TOKENIZED_SEPARATOR);
}

/** What joins the elements of a text of several elements (U+001E, the record separator): a phrase matches within one. */
export const TEXT_ELEMENT_SEPARATOR = "\u001e";

/** The text of several elements (the strings of an array); RangeError for an element holding the separator. */
export function joinTextElements(elements: readonly string[]): string {
  for (const element of elements) if (element.includes(TEXT_ELEMENT_SEPARATOR)) throw new RangeError("a text element holds U+001E, the element separator");
  return elements.join(TEXT_ELEMENT_SEPARATOR);
}

export const DEFAULT_K1 = 1.2;
export const DEFAULT_B = 0.75;

export function resolveTokenizerConfig(config: TokenizerConfig = {}): ResolvedTokenizerConfig {
  const asciiFolding = config.asciiFolding ?? false;
  const option = config.stopWords;
  let stop: readonly string[];
  if (option === "english") stop = ENGLISH_STOP_WORDS;
  else if (option === undefined) stop = [];
  else if (Array.isArray(option)) stop = option;
  else {
    const name = (option as { language: string }).language;
    const language = textLanguage(name);
    if (language === undefined) throw new RangeError(`no stop words for language ${JSON.stringify(name)}`);
    stop = language.stopWords;
  }
  const stemmer = config.stemmer ?? null;
  if (stemmer !== null && textLanguage(stemmer) === undefined) throw new RangeError(`no stemmer for language ${JSON.stringify(stemmer)}`);
  return {
    lowercase: config.lowercase ?? true,
    stopWords: [...new Set(stop.map((w) => stopKey(w, asciiFolding)))].sort(),
    locale: config.locale ?? "en",
    maxTokenLength: config.maxTokenLength ?? 64,
    stemmer,
    asciiFolding,
    k1: config.k1 ?? DEFAULT_K1,
    b: config.b ?? DEFAULT_B,
    preTokenized: config.preTokenized ?? false,
  };
}

/**
 * A key of what the config does to text (not k1/b): configs with equal keys
 * tokenize alike, so a query is tokenized once per distinct key.
 */
export function tokenizationKey(config: ResolvedTokenizerConfig): string {
  const parts: unknown[] = [config.lowercase, config.stopWords, config.locale, config.maxTokenLength, config.stemmer, config.asciiFolding];
  if (config.preTokenized) parts.push("pre_tokenized_array");
  return JSON.stringify(parts);
}

/** How a stop word is compared: lowercased, and folded with asciiFolding. */
function stopKey(word: string, asciiFolding: boolean): string {
  const lower = word.toLowerCase();
  return asciiFolding ? foldToAscii(lower) : lower;
}

// Letters that do not decompose into a base letter and marks.
const FOLDINGS: ReadonlyMap<string, string> = new Map([
  ["ß", "ss"],
  ["ẞ", "SS"],
  ["æ", "ae"],
  ["Æ", "AE"],
  ["œ", "oe"],
  ["Œ", "OE"],
  ["ø", "o"],
  ["Ø", "O"],
  ["đ", "d"],
  ["Đ", "D"],
  ["ð", "d"],
  ["Ð", "D"],
  ["ł", "l"],
  ["Ł", "L"],
  ["þ", "th"],
  ["Þ", "TH"],
  ["ı", "i"],
  ["ħ", "h"],
  ["Ħ", "H"],
]);
const FOLDABLE = /[ßẞæÆœŒøØđĐðÐłŁþÞıħĦ]/g;
const MARKS = /\p{M}+/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range test
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * ASCII folding: compatibility decomposition (NFKD) with the combining marks
 * removed, plus the letters that do not decompose (ß -> ss, ø -> o, ...).
 * Characters with no ASCII form stay as they are (Greek, Cyrillic, CJK).
 */
export function foldToAscii(word: string): string {
  if (ASCII_ONLY.test(word)) return word;
  return word
    .normalize("NFKD")
    .replace(MARKS, "")
    .replace(FOLDABLE, (c) => FOLDINGS.get(c) ?? c)
    .normalize("NFC");
}

// UAX #29 restricted to ASCII: AHLetter [A-Za-z], Numeric [0-9], ExtendNumLet _,
// MidLetter ":", MidNumLet "." and Single_Quote "'", MidNum "," ";".
const ASCII_WORD = /[A-Za-z0-9_]+(?:(?:(?<=[A-Za-z])[:.'](?=[A-Za-z])|(?<=[0-9])[.,;'](?=[0-9]))[A-Za-z0-9_]+)*/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range test
const NON_ASCII = /[^\x00-\x7f]/;

const segmenters = new Map<string, Intl.Segmenter>();

export class Tokenizer {
  private readonly stop: ReadonlySet<string>;
  private readonly stem: ((word: string) => string) | null;
  constructor(readonly config: ResolvedTokenizerConfig) {
    this.stop = new Set(config.stopWords);
    if (config.stemmer === null) this.stem = null;
    else {
      const language = textLanguage(config.stemmer);
      if (language === undefined) throw new RangeError(`no stemmer for language ${JSON.stringify(config.stemmer)}`);
      this.stem = language.stem;
    }
  }

  /**
   * Word tokens of `text`, in order, duplicates kept. With `elementStarts`, the index (in the tokens) where each
   * element after the first starts is pushed to it (a text of several elements, TEXT_ELEMENT_SEPARATOR; an element
   * without tokens starts where the next one does).
   */
  tokenize(text: string, elementStarts?: number[]): string[] {
    const out: string[] = [];
    this.forEachWord(
      text,
      (raw) => {
        const token = this.normalize(raw);
        if (token !== null) out.push(token);
      },
      elementStarts === undefined ? undefined : () => elementStarts.push(out.length),
    );
    return out;
  }

  /** The raw words of `text` (word-like segments), in order. */
  words(text: string): string[] {
    const out: string[] = [];
    this.forEachWord(text, (raw) => out.push(raw));
    return out;
  }

  /** The token a raw word becomes, or null when it is dropped (too long, a stop word). */
  normalize(raw: string): string | null {
    const { lowercase, maxTokenLength, asciiFolding } = this.config;
    if (raw.length > maxTokenLength) return null;
    let token = lowercase ? raw.toLowerCase() : raw;
    if (asciiFolding) token = foldToAscii(token);
    if (this.stop.size > 0 && this.stop.has(lowercase ? token : token.toLowerCase())) return null;
    if (this.stem !== null) token = this.stem(token);
    return token.length === 0 ? null : token;
  }

  /** Each raw word of `text` with where it is (UTF-16 offsets `[start, end)`), in order: what `tokenize` reads. */
  forEachWordAt(text: string, push: (raw: string, start: number, end: number) => void): void {
    this.forEachWord(text, push);
  }

  /** `push` each raw word; `element` before each element after the first (a text of several elements). */
  private forEachWord(text: string, push: (raw: string, start: number, end: number) => void, element?: () => void): void {
    if (!this.config.preTokenized && text.includes(TEXT_ELEMENT_SEPARATOR)) {
      let start = 0;
      for (const part of text.split(TEXT_ELEMENT_SEPARATOR)) {
        if (start > 0) element?.();
        const at = start;
        this.forEachElementWord(part, (raw, from, to) => push(raw, at + from, at + to));
        start += part.length + 1;
      }
      return;
    }
    this.forEachElementWord(text, push);
  }

  private forEachElementWord(text: string, push: (raw: string, start: number, end: number) => void): void {
    if (this.config.preTokenized) {
      let start = 0;
      for (const token of text.split(PRE_TOKENIZED_SEPARATOR)) {
        if (token.length > 0) push(token, start, start + token.length);
        start += token.length + 1;
      }
      return;
    }
    if (!NON_ASCII.test(text)) {
      ASCII_WORD.lastIndex = 0;
      for (let m = ASCII_WORD.exec(text); m !== null; m = ASCII_WORD.exec(text)) {
        // ICU gives a lone "_" no word status (but "__" and "_a" have one).
        if (m[0] === "_") continue;
        push(m[0], m.index, m.index + m[0].length);
      }
      return;
    }
    let segmenter = segmenters.get(this.config.locale);
    if (segmenter === undefined) {
      segmenter = new Intl.Segmenter(this.config.locale, { granularity: "word" });
      segmenters.set(this.config.locale, segmenter);
    }
    for (const s of segmenter.segment(text)) if (s.isWordLike) push(s.segment, s.index, s.index + s.segment.length);
  }
}

/** Reference tokenization through `Intl.Segmenter` only (tests compare the fast path with it). */
export function segmenterWords(text: string, locale = "en"): string[] {
  const segmenter = new Intl.Segmenter(locale, { granularity: "word" });
  return [...segmenter.segment(text)].filter((s) => s.isWordLike).map((s) => s.segment);
}
