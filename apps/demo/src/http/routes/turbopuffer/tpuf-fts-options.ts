/**
 * turbopuffer's `full_text_search` schema option mapped onto the engine's
 * text field options (namespace-engine `TextFieldOptions`):
 *
 * | turbopuffer (default)          | engine                                   |
 * | ------------------------------ | ---------------------------------------- |
 * | `language` (english)           | `language` (the same 18 languages)       |
 * | `stemming` (false)             | `stemming`                               |
 * | `remove_stopwords` (false*)    | `removeStopwords`                        |
 * | `case_sensitive` (false)       | `caseSensitive`                          |
 * | `ascii_folding` (false)        | `asciiFolding`                           |
 * | `max_token_length` (39, 1-254) | `maxTokenLength` (UTF-16 units, not bytes) |
 * | `tokenizer` (word_v*)          | the engine's word tokenizer (UAX #29)    |
 * | `tokenizer` pre_tokenized_array | `tokenizer: "pre_tokenized_array"`      |
 * | `k1` (1.2), `b` (0.75)         | `k1`, `b`                                |
 *
 * `full_text_search: true` is every default. *`remove_stopwords`: a new
 * declaration that omits it is stored with `false` (tpuf-schema.ts
 * `declareSchema`, turbopuffer's newest default); a stored declaration
 * without it predates that rule and is read with `true`, as it was indexed. With `pre_tokenized_array`
 * (a `[]string` attribute, each string one token) the tokens are used as
 * they are, "matched case sensitively, without stemming or stopword
 * removal", and `language`, `stemming: true`, `remove_stopwords: true` and
 * `case_sensitive: false` are a 400 (https://turbopuffer.com/docs/fts,
 * "Tokenizers"); `ascii_folding` does not apply (ignored),
 * `max_token_length` drops longer tokens only when given (else the engine's
 * limit, 1,024). Unknown options
 * or languages are a 400. `syncTextFields` commits the
 * options of the schema's full-text attributes to the engine after the
 * schema (in the labels) changed.
 */
import { type NamespaceEngine, TEXT_LANGUAGES, type TextFieldOptions } from "@skerry/namespace-engine";
import { ApiError } from "../../api-error.ts";
import { type Manifest, MAX_TEXT_TOKEN_LENGTH } from "@skerry/wal-format";
import type { AttrSchema, TpufSchema } from "./tpuf-schema.ts";

const WORD_TOKENIZERS = new Set(["word_v0", "word_v1", "word_v2", "word_v3", "word_v4"]);
const KNOWN = new Set(["language", "stemming", "remove_stopwords", "case_sensitive", "ascii_folding", "max_token_length", "tokenizer", "k1", "b"]);

function flag(where: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") throw new ApiError("InvalidArgument", `${where} must be a boolean`);
  return value;
}

function number(where: string, value: unknown, fallback: number, min: number, max: number, integer: boolean): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ApiError("InvalidArgument", `${where} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
  }
  return value;
}

/** The engine options of an attribute's `full_text_search` (true or a config object); a 400 for bad ones. */
export function textFieldOptionsOf(name: string, fts: unknown): TextFieldOptions {
  const where = `schema.${name}.full_text_search`;
  if (fts === true) return textFieldOptionsOf(name, {});
  if (typeof fts !== "object" || fts === null || Array.isArray(fts)) throw new ApiError("InvalidArgument", `${where}: true, false or an object of options`);
  const o = fts as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) throw new ApiError("InvalidArgument", `${where}: unknown option ${JSON.stringify(key)}`);
  const tokenizer = o["tokenizer"];
  if (tokenizer !== undefined && tokenizer !== null && tokenizer !== "pre_tokenized_array" && !WORD_TOKENIZERS.has(tokenizer as string)) {
    throw new ApiError("InvalidArgument", `${where}.tokenizer: one of ${[...WORD_TOKENIZERS].join(", ")}, pre_tokenized_array`);
  }
  if (tokenizer === "pre_tokenized_array") {
    // "You cannot specify language, stemming: true, remove_stopwords: true, or case_sensitive: false when using
    // this tokenizer" (https://turbopuffer.com/docs/fts, "Tokenizers").
    const refused = (option: string, value: unknown, allowed: boolean) => {
      if (value === undefined || value === null) return;
      if (flag(`${where}.${option}`, value, allowed) !== allowed) {
        throw new ApiError("InvalidArgument", `${where}.${option}: the pre_tokenized_array tokenizer takes no ${option}: ${String(!allowed)} (its tokens are matched as they are)`);
      }
    };
    if (o["language"] !== undefined && o["language"] !== null) {
      throw new ApiError("InvalidArgument", `${where}.language: the pre_tokenized_array tokenizer takes no language (its tokens are matched as they are)`);
    }
    refused("stemming", o["stemming"], false);
    refused("remove_stopwords", o["remove_stopwords"], false);
    refused("case_sensitive", o["case_sensitive"], true);
    flag(`${where}.ascii_folding`, o["ascii_folding"], false);
    const language = "english";
    // In the order the engine resolves them (syncTextFields compares with the manifest's).
    return {
      language,
      stemming: false,
      removeStopwords: false,
      caseSensitive: true,
      asciiFolding: false,
      maxTokenLength: number(`${where}.max_token_length`, o["max_token_length"], MAX_TEXT_TOKEN_LENGTH, 1, MAX_TEXT_TOKEN_LENGTH, true),
      k1: number(`${where}.k1`, o["k1"], 1.2, 0, 1000, false),
      b: number(`${where}.b`, o["b"], 0.75, 0, 1, false),
      tokenizer: "pre_tokenized_array",
    };
  }
  const language = o["language"] ?? "english";
  if (typeof language !== "string" || !TEXT_LANGUAGES.includes(language)) {
    throw new ApiError("InvalidArgument", `${where}.language: unsupported language ${JSON.stringify(language)}; supported: ${TEXT_LANGUAGES.join(", ")}`);
  }
  return {
    language,
    stemming: flag(`${where}.stemming`, o["stemming"], false),
    removeStopwords: flag(`${where}.remove_stopwords`, o["remove_stopwords"], true),
    caseSensitive: flag(`${where}.case_sensitive`, o["case_sensitive"], false),
    asciiFolding: flag(`${where}.ascii_folding`, o["ascii_folding"], false),
    maxTokenLength: number(`${where}.max_token_length`, o["max_token_length"], 39, 1, 254, true),
    k1: number(`${where}.k1`, o["k1"], 1.2, 0, 1000, false),
    b: number(`${where}.b`, o["b"], 0.75, 0, 1, false),
  };
}

/** The engine options of every full-text attribute of `schema`. */
export function textFieldsOf(schema: TpufSchema, isFullText: (attr: AttrSchema | undefined) => boolean): Record<string, TextFieldOptions> {
  const out: Record<string, TextFieldOptions> = {};
  for (const [name, attr] of schema) {
    if (isFullText(attr)) Object.defineProperty(out, name, { value: textFieldOptionsOf(name, attr.full_text_search), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Commits the full-text options of the namespace's turbopuffer schema to the engine, when they differ
 * (conditional on the version read, so the last commit always reflects the newest schema; retried on a conflict).
 */
export async function syncTextFields(
  engine: NamespaceEngine,
  path: string,
  schemaOf: (manifest: Manifest) => TpufSchema,
  isFullText: (attr: AttrSchema | undefined) => boolean,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const manifest = await engine.manifest(path);
    const wanted = textFieldsOf(schemaOf(manifest), isFullText);
    const current = Object.fromEntries(manifest.textFields ?? new Map());
    if (JSON.stringify(Object.entries(wanted).sort()) === JSON.stringify(Object.entries(current).sort())) return;
    try {
      await engine.updateTextFields(path, wanted, { ifVersion: manifest.version });
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "VersionConflict" || attempt >= 8) throw error;
    }
  }
}
