/**
 * The languages of text fields: for each, a Snowball stemmer and a stop word
 * list (`@orama/stemmers`, `@orama/stopwords`; English stop words are the
 * engine's own list, stop-words.ts). `textLanguage(name)` is undefined for
 * any other name (the engine's API refuses those with UnsupportedLanguage).
 */
import { createRequire } from "node:module";
import { ENGLISH_STOP_WORDS } from "./stop-words.ts";

export interface TextLanguage {
  readonly name: string;
  readonly stem: (word: string) => string;
  readonly stopWords: readonly string[];
}

// Each language's stemmer and stop words are loaded when first used, not when the engine is imported: 18
// languages are 35 modules, most processes use one or none (a fresh process's start to its first answer).
// Loaded through `require` (the packages ship CommonJS beside their ES modules), so `stem` stays synchronous.
const load = createRequire(import.meta.url);

/** `@orama/stemmers` / `@orama/stopwords` subpath of each language (the English stop words are stop-words.ts). */
const NAMES = [
  "arabic",
  "danish",
  "dutch",
  "english",
  "finnish",
  "french",
  "german",
  "greek",
  "hungarian",
  "italian",
  "norwegian",
  "portuguese",
  "romanian",
  "russian",
  "spanish",
  "swedish",
  "tamil",
  "turkish",
] as const;

class LazyLanguage implements TextLanguage {
  #stem: ((word: string) => string) | undefined;
  #stopWords: readonly string[] | undefined;
  constructor(readonly name: string) {}

  get stem(): (word: string) => string {
    this.#stem ??= (load(`@orama/stemmers/${this.name}`) as { stemmer: (word: string) => string }).stemmer;
    return this.#stem;
  }

  get stopWords(): readonly string[] {
    this.#stopWords ??= this.name === "english" ? ENGLISH_STOP_WORDS : (load(`@orama/stopwords/${this.name}`) as { stopwords: readonly string[] }).stopwords;
    return this.#stopWords;
  }
}

const LANGUAGES: ReadonlyMap<string, TextLanguage> = new Map(NAMES.map((name) => [name, new LazyLanguage(name)]));

/** The supported language names, sorted. */
export const TEXT_LANGUAGES: readonly string[] = Object.freeze([...LANGUAGES.keys()].sort());

/** The language `name`, or undefined when it is not supported. */
export function textLanguage(name: string): TextLanguage | undefined {
  return typeof name === "string" ? LANGUAGES.get(name) : undefined;
}
