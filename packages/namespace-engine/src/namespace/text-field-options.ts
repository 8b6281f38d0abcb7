/**
 * Full-text options of a namespace's text fields, as the engine API takes
 * them (`createNamespace({ textFields })`, `updateTextFields`) and the
 * manifest stores them (`text_fields`, every option resolved), and the
 * tokenizer config each one indexes and queries with.
 *
 * Options (defaults in brackets): `language` ["english"; the languages of
 * @skerry/query text-language.ts, else UnsupportedLanguageError], `stemming` [false],
 * `removeStopwords` [false], `caseSensitive` [false], `asciiFolding` [false],
 * `maxTokenLength` [64, at most 1,024], `tokenizer` ["word"],
 * `k1` [1.2, 0 to 1,000], `b` [0.75, 0 to 1]. A field with every default
 * tokenizes exactly as a field without options.
 *
 * `tokenizer: "pre_tokenized_array"`: the field's value is its tokens joined
 * by U+001F (PRE_TOKENIZED_SEPARATOR, `joinTokens`), used as they are: no
 * case folding, ASCII folding, stop words or stemming (stemming,
 * removeStopwords and asciiFolding must not be true, caseSensitive not
 * false; caseSensitive resolves to true), empty tokens ignored, tokens
 * longer than maxTokenLength dropped. Queries and token filters on the field
 * split their operands the same way, so a BM25 query is its tokens joined
 * alike and a token filter's list operand holds one token per element.
 */
import { contentHash, MAX_TEXT_TOKEN_LENGTH, type TextFieldSettings } from "@skerry/wal-format";
import { InvalidArgumentError, UnsupportedLanguageError } from "../core/index.ts";
import { DEFAULT_B, DEFAULT_K1, type ResolvedTokenizerConfig, resolveTokenizerConfig, setOwn, TEXT_LANGUAGES, textLanguage, type TokenizerConfig } from "@skerry/query";

/** The options of one text field, as given (every one optional). */
export interface TextFieldOptions {
  readonly language?: string | undefined;
  readonly stemming?: boolean | undefined;
  readonly removeStopwords?: boolean | undefined;
  readonly caseSensitive?: boolean | undefined;
  readonly asciiFolding?: boolean | undefined;
  readonly maxTokenLength?: number | undefined;
  /** "word" (Unicode word boundaries, the default) or "pre_tokenized_array" (the value is its tokens joined by U+001F). */
  readonly tokenizer?: "word" | "pre_tokenized_array" | undefined;
  readonly k1?: number | undefined;
  readonly b?: number | undefined;
}

/** A text field's options with the defaults applied (what the manifest stores). */
export type ResolvedTextFieldOptions = TextFieldSettings;

const DEFAULT_MAX_TOKEN_LENGTH = 64;
const MAX_TEXT_FIELDS = 256;
const KNOWN = new Set(["language", "stemming", "removeStopwords", "caseSensitive", "asciiFolding", "maxTokenLength", "tokenizer", "k1", "b"]);

function flag(name: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`textFields.${field}.${name} must be a boolean`);
  return value;
}

function number(name: string, field: string, value: unknown, fallback: number, min: number, max: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`textFields.${field}.${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

/** One field's options resolved; InvalidArgumentError / UnsupportedLanguageError for bad ones. */
export function resolveTextFieldOptions(field: string, options: unknown): ResolvedTextFieldOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new InvalidArgumentError(`textFields.${field} must be an object`);
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new InvalidArgumentError(`textFields.${field}: unknown option ${JSON.stringify(key)}`);
  const o = options as Record<string, unknown>;
  const tokenizer = o["tokenizer"];
  if (tokenizer !== undefined && tokenizer !== "word" && tokenizer !== "pre_tokenized_array") {
    throw new InvalidArgumentError(`textFields.${field}.tokenizer: "word" or "pre_tokenized_array"; got ${JSON.stringify(tokenizer)}`);
  }
  const preTokenized = tokenizer === "pre_tokenized_array";
  const language = o["language"] ?? "english";
  if (typeof language !== "string" || textLanguage(language) === undefined) throw new UnsupportedLanguageError(String(language), TEXT_LANGUAGES);
  const resolved = {
    language,
    stemming: flag("stemming", field, o["stemming"], false),
    removeStopwords: flag("removeStopwords", field, o["removeStopwords"], false),
    caseSensitive: flag("caseSensitive", field, o["caseSensitive"], preTokenized),
    asciiFolding: flag("asciiFolding", field, o["asciiFolding"], false),
    maxTokenLength: number("maxTokenLength", field, o["maxTokenLength"], DEFAULT_MAX_TOKEN_LENGTH, 1, MAX_TEXT_TOKEN_LENGTH, true),
    k1: number("k1", field, o["k1"], DEFAULT_K1, 0, 1_000, false),
    b: number("b", field, o["b"], DEFAULT_B, 0, 1, false),
  };
  if (!preTokenized) return resolved;
  for (const name of ["stemming", "removeStopwords", "asciiFolding"] as const) {
    if (resolved[name]) throw new InvalidArgumentError(`textFields.${field}.${name}: a pre_tokenized_array field uses its tokens as they are; ${name} must be false`);
  }
  if (!resolved.caseSensitive) throw new InvalidArgumentError(`textFields.${field}.caseSensitive: a pre_tokenized_array field uses its tokens as they are; caseSensitive must be true`);
  return { ...resolved, tokenizer: "pre_tokenized_array" };
}

/** The `textFields` argument resolved: field name -> options (sorted by name). */
export function resolveTextFields(input: unknown): Map<string, ResolvedTextFieldOptions> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new InvalidArgumentError("textFields must be an object of field options");
  const names = Object.keys(input).sort();
  if (names.length > MAX_TEXT_FIELDS) throw new InvalidArgumentError(`textFields holds ${names.length} fields; at most ${MAX_TEXT_FIELDS}`);
  const out = new Map<string, ResolvedTextFieldOptions>();
  for (const name of names) {
    if (name.length === 0 || name.length > 128) throw new InvalidArgumentError("textFields: a field name must have 1 to 128 characters");
    out.set(name, resolveTextFieldOptions(name, (input as Record<string, unknown>)[name]));
  }
  return out;
}

/** The tokenizer config (index build and queries) of a field's options. */
export function tokenizerConfigOf(options: ResolvedTextFieldOptions): TokenizerConfig {
  return {
    lowercase: !options.caseSensitive,
    stopWords: options.removeStopwords ? { language: options.language } : [],
    maxTokenLength: options.maxTokenLength,
    stemmer: options.stemming ? options.language : null,
    asciiFolding: options.asciiFolding,
    k1: options.k1,
    b: options.b,
    ...(options.tokenizer === "pre_tokenized_array" ? { preTokenized: true } : {}),
  };
}

/** The tokenizer configs of a manifest's text fields (what `buildQueryIndex` takes as `textFields`), or undefined without any. */
export function textFieldConfigs(fields: ReadonlyMap<string, ResolvedTextFieldOptions> | undefined): Record<string, TokenizerConfig> | undefined {
  if (fields === undefined || fields.size === 0) return undefined;
  const out: Record<string, TokenizerConfig> = {};
  for (const [name, options] of fields) setOwn(out, name, tokenizerConfigOf(options));
  return out;
}

/** Plain record of the options (NamespaceInfo). */
export function textFieldsRecord(fields: ReadonlyMap<string, ResolvedTextFieldOptions> | undefined): Record<string, ResolvedTextFieldOptions> {
  const out: Record<string, ResolvedTextFieldOptions> = {};
  if (fields !== undefined) for (const [name, options] of fields) setOwn(out, name, options);
  return out;
}

/** The resolved tokenizer config of each field with options (`matchesFilter`'s `textConfig`). */
export function textConfigOf(fields: ReadonlyMap<string, ResolvedTextFieldOptions> | undefined): (field: string) => ResolvedTokenizerConfig | undefined {
  const configs = new Map<string, ResolvedTokenizerConfig>();
  if (fields !== undefined) for (const [name, options] of fields) configs.set(name, resolveTokenizerConfig(tokenizerConfigOf(options)));
  return (field) => configs.get(field);
}

/**
 * What a segment index's tokenization depends on in `fields` (a hash), or undefined without options:
 * recorded on the segments compaction writes (`text_options`), so a forced compaction re-indexes a segment
 * indexed under other options. k1 and b are left out (they apply at query time).
 */
export function textIndexKey(fields: ReadonlyMap<string, ResolvedTextFieldOptions> | undefined): string | undefined {
  if (fields === undefined || fields.size === 0) return undefined;
  const parts = [...fields].map(([name, o]) => [name, o.language, o.stemming, o.removeStopwords, o.caseSensitive, o.asciiFolding, o.maxTokenLength, ...(o.tokenizer === undefined ? [] : [o.tokenizer])]);
  return contentHash(new TextEncoder().encode(JSON.stringify(parts))).slice(0, 32);
}
