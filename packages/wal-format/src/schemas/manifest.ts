/**
 * The namespace manifest: an immutable, numbered snapshot of a namespace.
 *
 * Committing version N+1 is a create-only put of a new object, so there is
 * exactly one manifest per version and old versions stay readable (reads at a
 * version, branches from a version). It lists the namespace's row containers
 * in fold order: readers apply them first to last, later rows of an id win,
 * and each container's tombstone sidecar (if any) hides positions in it.
 *
 * Wire fields: schema_version, namespace ("org/project/ns"), version,
 * created_at, updated_at, deleted_at (set only on the final version of a
 * deleted namespace: no write may commit on top of it), parent ({namespace,
 * version} of the branch source, or absent), vector ({metric, dimension?}:
 * the metric is chosen when the namespace is created, the dimension is fixed
 * by the first vector written), text_fields ({<field>: {language, stemming,
 * remove_stopwords, case_sensitive, ascii_folding, max_token_length, k1, b,
 * tokenizer?}}; tokenizer "pre_tokenized_array" or absent for the word tokenizer):
 * the full-text options of text fields; absent = every field has the
 * defaults), schema ({id_type?, attributes: {<name>: {type, filterable,
 * options?}}}: the namespace's typed schema, namespace-schema.ts; absent in
 * manifests written before it existed), containers ([{id, kind, key, row_count, byte_size,
 * content_hash, row_id_range?, tombstones_key?}]), row_id_high_water (every
 * row id in the namespace is <= it; id generators are advanced past it so
 * clock skew cannot mint a smaller id), recent_writes ([{idempotency_key,
 * version, committed_at, count?}], the most recent idempotency keys with the
 * version they committed as and how many operations they applied), labels.
 *
 * Carried batches: a LOG_BATCH ref may hold the batch's bytes (`inline`) in
 * the manifest that carries it (`carrier_version`, its own version); later
 * versions name the carrier without the bytes.
 *
 * The object (envelope version 2, what `encodeManifest` always writes):
 * `SKERRY-MANIFEST 2 <JSON byte length> <BLAKE3 hex of the body>\n`, then the
 * body: the JSON (each carried ref with `inline_offset`), then the inline
 * bytes back to back (the attachment, nothing else). `decodeManifest`
 * verifies the hash over the exact body bytes before parsing anything.
 * Legacy objects (no hash, read unverified): plain JSON, and envelope
 * version 1, `SKERRY-MANIFEST 1 <JSON byte length>\n` + JSON + attachment.
 *
 * Unknown keys are kept so older readers do not lose them.
 *
 * Errors: `CorruptDataError` (format `manifest`) for a damaged envelope
 * (`checksum-mismatch`, `truncated`, `malformed`); `SchemaError` naming
 * `manifest` and the field; `UnsupportedVersionError` for a newer
 * `schema_version` or envelope version.
 */
import { z } from "zod";
import { contentHash } from "../content-hash.ts";
import { CorruptDataError, isWalFormatError, SchemaError, UnsupportedVersionError } from "../errors.ts";
import type { IdSpan } from "../id-span.ts";
import type { RowId } from "../ids.ts";
import { idToHex, rowIdFromHex } from "../ids.ts";
import { idSpanFromWire, idSpanToWire, idSpanWireSchema, type IdSpanWire } from "./id-span.ts";
import type { DecodeDocumentOptions, JsonDocumentSpec } from "./json-document.ts";
import { DEFAULT_MAX_DOCUMENT_BYTES, formatPath, mapDocument, parseDocumentJson, validateWire } from "./json-document.ts";
import { textEncoder } from "../internal/binary.ts";
import { type NamespaceSchema, namespaceSchemaFromWire, namespaceSchemaToWire, namespaceSchemaWireSchema, type NamespaceSchemaWire } from "./namespace-schema.ts";
import type { JsonObject } from "./wire.ts";
import {
  bag,
  blake3HexSchema,
  countSchema,
  extrasOf,
  idHexSchema,
  keysOf,
  mapFromRecord,
  mergeExtras,
  recordFromMap,
  schemaVersionSchema,
  timestampFromWire,
  timestampSchema,
  timestampToWire,
  uuidSchema,
} from "./wire.ts";

export const MANIFEST_DOCUMENT = "manifest";
export const MANIFEST_SCHEMA_VERSION = 1;

export const CONTAINER_KINDS = ["LOG_BATCH", "SEGMENT"] as const;
export type ContainerKind = (typeof CONTAINER_KINDS)[number];
export const DISTANCE_METRICS = ["COSINE", "DOT", "EUCLIDEAN"] as const;
export type DistanceMetric = (typeof DISTANCE_METRICS)[number];

/** Largest vector dimension a manifest accepts. */
export const MAX_VECTOR_DIMENSION = 65_536;

const namespacePathSchema = z.string().regex(/^[^/]+\/[^/]+\/[^/]+$/, "expected org/project/namespace");

/** Longest token a text field may be configured to keep (UTF-16 units). */
export const MAX_TEXT_TOKEN_LENGTH = 1_024;

const textFieldWireSchema = z.object({
  language: z.string().min(1).max(64),
  stemming: z.boolean(),
  remove_stopwords: z.boolean(),
  case_sensitive: z.boolean(),
  ascii_folding: z.boolean(),
  max_token_length: z.number().int().min(1).max(MAX_TEXT_TOKEN_LENGTH),
  k1: z.number().min(0).max(1_000),
  b: z.number().min(0).max(1),
  /** Absent: the word tokenizer; "pre_tokenized_array": the value is its tokens (namespace-engine text-field-options.ts). */
  tokenizer: z.literal("pre_tokenized_array").optional(),
});

export const containerRefWireSchema = z.looseObject({
  id: uuidSchema,
  kind: z.enum(CONTAINER_KINDS),
  key: z.string().min(1),
  row_count: countSchema,
  byte_size: countSchema,
  content_hash: blake3HexSchema,
  row_id_range: idSpanWireSchema.nullish(),
  tombstones_key: z.string().min(1).nullish(),
  inline_offset: countSchema.nullish(),
  carrier_version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullish(),
});

const recentWriteWireSchema = z.object({
  idempotency_key: z.string().min(1),
  version: countSchema,
  committed_at: timestampSchema,
  count: countSchema.nullish(),
});

export const manifestWireSchema = z.looseObject({
  schema_version: schemaVersionSchema(MANIFEST_SCHEMA_VERSION),
  namespace: namespacePathSchema,
  version: countSchema,
  created_at: timestampSchema,
  updated_at: timestampSchema,
  deleted_at: timestampSchema.nullish(),
  parent: z.object({ namespace: namespacePathSchema, version: countSchema }).nullish(),
  vector: z
    .object({ dimension: z.number().int().min(1).max(MAX_VECTOR_DIMENSION).nullish(), metric: z.enum(DISTANCE_METRICS) })
    .nullish(),
  text_fields: z.record(z.string().min(1), textFieldWireSchema).nullish(),
  schema: namespaceSchemaWireSchema.nullish(),
  containers: z.array(containerRefWireSchema),
  row_id_high_water: idHexSchema,
  recent_writes: z.array(recentWriteWireSchema),
  labels: z.record(z.string(), z.string()),
});

const KNOWN = keysOf(manifestWireSchema);
const CONTAINER_KNOWN = keysOf(containerRefWireSchema);

/** The full-text options of one text field (every option resolved). */
export interface TextFieldSettings {
  /** Language of stemming and stop words, e.g. "english". */
  readonly language: string;
  readonly stemming: boolean;
  readonly removeStopwords: boolean;
  readonly caseSensitive: boolean;
  /** Diacritics removed ("café" ~ "cafe"). */
  readonly asciiFolding: boolean;
  /** Longer tokens are dropped (UTF-16 units). */
  readonly maxTokenLength: number;
  /** BM25 parameters. */
  readonly k1: number;
  readonly b: number;
  /** "pre_tokenized_array": the field's value is its tokens, used as they are; absent: the word tokenizer. */
  readonly tokenizer?: "pre_tokenized_array";
}

/** One immutable row container (write-log batch or segment). */
export interface ContainerRef {
  /** Container id (UUID); segments' tombstone sidecars are named after it. */
  readonly id: string;
  readonly kind: ContainerKind;
  /** Object key of the container's bytes. */
  readonly key: string;
  readonly rowCount: number;
  readonly byteSize: number;
  /** BLAKE3 hex of the object's bytes. */
  readonly contentHash: string;
  /** Smallest and largest row id inside; absent for containers with no rows. */
  readonly rowIdRange?: IdSpan;
  /** Object key of the tombstone sidecar, once one exists. */
  readonly tombstonesKey?: string;
  /**
   * LOG_BATCH only: the batch's bytes (the framed log, `byteSize` bytes hashing to `contentHash`) carried in
   * this manifest (wire: standard base64 with padding). Only in the manifest whose version is
   * `carrierVersion`: the version that committed the batch.
   */
  readonly inline?: Uint8Array;
  /**
   * LOG_BATCH only: the manifest version that carries this batch's bytes (`inline` there). Set on every ref of
   * a carried batch: with `inline` in the carrier itself (`carrierVersion` equals the manifest's version),
   * without it in later versions (smaller), whose readers take the bytes from the carrier manifest or, once
   * that version has expired, from the object at `key`.
   */
  readonly carrierVersion?: number;
  readonly extra?: JsonObject;
}

export interface RecentWrite {
  readonly idempotencyKey: string;
  /** Manifest version the write committed as. */
  readonly version: number;
  /** Epoch milliseconds. */
  readonly committedAt: number;
  /** Operations the write applied (absent in manifests written before this field existed). */
  readonly count?: number;
}

export interface Manifest {
  readonly schemaVersion: number;
  /** `org/project/namespace`. */
  readonly namespace: string;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Set only on the final version of a deleted namespace (epoch ms). */
  readonly deletedAt?: number;
  /** Branch source, when this namespace was branched from another. */
  readonly parent?: { readonly namespace: string; readonly version: number };
  /** Vector settings: the metric from creation, the dimension once the first vector is written. */
  readonly vector?: { readonly dimension?: number; readonly metric: DistanceMetric };
  /** Full-text options per text field; fields not listed (and every field when absent) have the defaults. */
  readonly textFields?: ReadonlyMap<string, TextFieldSettings>;
  /** The typed schema (id type, attribute types); absent in manifests written before it existed. */
  readonly schema?: NamespaceSchema;
  /** Row containers in fold order (oldest first). */
  readonly containers: readonly ContainerRef[];
  readonly rowIdHighWater: RowId;
  readonly recentWrites: readonly RecentWrite[];
  readonly labels: ReadonlyMap<string, string>;
  readonly extra?: JsonObject;
}

function containerFromWire(raw: Record<string, unknown>, attachment: Uint8Array | undefined): ContainerRef {
  const range = raw["row_id_range"];
  const tombstones = raw["tombstones_key"];
  const offset = raw["inline_offset"];
  const inline = typeof offset === "number" && attachment !== undefined ? attachment.subarray(offset, offset + (raw["byte_size"] as number)) : undefined;
  const carrier = raw["carrier_version"];
  const extra = extrasOf(raw, CONTAINER_KNOWN);
  return {
    id: raw["id"] as string,
    kind: raw["kind"] as ContainerKind,
    key: raw["key"] as string,
    rowCount: raw["row_count"] as number,
    byteSize: raw["byte_size"] as number,
    contentHash: raw["content_hash"] as string,
    ...(range !== undefined && range !== null ? { rowIdRange: idSpanFromWire(range as IdSpanWire) } : {}),
    ...(typeof tombstones === "string" ? { tombstonesKey: tombstones } : {}),
    ...(inline === undefined ? {} : { inline }),
    ...(typeof carrier === "number" ? { carrierVersion: carrier } : {}),
    ...(extra === undefined ? {} : { extra }),
  };
}

/** The ref's wire form; `inlineOffset`: where its inline bytes start in the manifest object's attachment. */
function containerToWire(ref: ContainerRef, inlineOffset = 0): Record<string, unknown> {
  const wire = bag<unknown>();
  wire["id"] = ref.id;
  wire["kind"] = ref.kind;
  wire["key"] = ref.key;
  wire["row_count"] = ref.rowCount;
  wire["byte_size"] = ref.byteSize;
  wire["content_hash"] = ref.contentHash;
  if (ref.rowIdRange !== undefined) wire["row_id_range"] = idSpanToWire(ref.rowIdRange);
  if (ref.tombstonesKey !== undefined) wire["tombstones_key"] = ref.tombstonesKey;
  if (ref.inline !== undefined) wire["inline_offset"] = inlineOffset;
  if (ref.carrierVersion !== undefined) wire["carrier_version"] = ref.carrierVersion;
  mergeExtras(wire, ref.extra, CONTAINER_KNOWN);
  return wire;
}

/** Cross-field rules of one container ref (wire form). */
/** Cross-field rules of one container ref (wire form); `inlineLength`: the length of its inline bytes (encoding). */
function checkContainer(container: Record<string, unknown>, index: number, inlineLength?: number): [string, string] | undefined {
  const offset = container["inline_offset"];
  const carrier = container["carrier_version"];
  if (typeof carrier === "number" && container["kind"] !== "LOG_BATCH") return [`containers[${index}].carrier_version`, "only a LOG_BATCH may be carried in a manifest"];
  if (typeof offset !== "number") return undefined;
  if (typeof carrier !== "number") return [`containers[${index}].carrier_version`, "inline bytes need the carrier_version that carries them"];
  if (inlineLength !== undefined && inlineLength !== container["byte_size"]) {
    return [`containers[${index}].inline_offset`, `inline bytes are ${inlineLength} long; byte_size says ${String(container["byte_size"])}`];
  }
  return undefined;
}

/**
 * A carried batch's bytes ride only in the manifest that carries it: `inline` exactly when `carrier_version` is
 * the manifest's own version, and a later version names an earlier carrier.
 */
function checkCarrier(version: number, carrier: number | undefined, inline: boolean, index: number): [string, string] | undefined {
  if (carrier === undefined) return undefined;
  if (carrier > version) return [`containers[${index}].carrier_version`, `carrier ${carrier} is newer than the manifest (version ${version})`];
  if (inline && carrier !== version) return [`containers[${index}].inline_offset`, `only the carrier (version ${carrier}) holds the bytes; this is version ${version}`];
  if (!inline && carrier === version) return [`containers[${index}].inline_offset`, `version ${version} is the carrier but holds no bytes`];
  return undefined;
}

function check(raw: Record<string, unknown>): [string, string] | undefined {
  const containers = raw["containers"] as Record<string, unknown>[];
  const version = raw["version"] as number;
  const seen = new Set<string>();
  for (const [index, container] of containers.entries()) {
    const id = container["id"] as string;
    if (seen.has(id)) return [`containers[${index}].id`, `duplicate container id ${id}`];
    seen.add(id);
    const problem =
      checkContainer(container, index) ??
      checkCarrier(version, typeof container["carrier_version"] === "number" ? container["carrier_version"] : undefined, typeof container["inline_offset"] === "number", index);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

type TextFieldWire = z.infer<typeof textFieldWireSchema>;

function textFieldsFromWire(raw: Record<string, TextFieldWire>): Map<string, TextFieldSettings> {
  const out = new Map<string, TextFieldSettings>();
  for (const name of Object.keys(raw).sort()) {
    const f = raw[name] as TextFieldWire;
    out.set(name, {
      language: f.language,
      stemming: f.stemming,
      removeStopwords: f.remove_stopwords,
      caseSensitive: f.case_sensitive,
      asciiFolding: f.ascii_folding,
      maxTokenLength: f.max_token_length,
      k1: f.k1,
      b: f.b,
      ...(f.tokenizer === undefined ? {} : { tokenizer: f.tokenizer }),
    });
  }
  return out;
}

function textFieldsToWire(fields: ReadonlyMap<string, TextFieldSettings>): Record<string, TextFieldWire> {
  const wire = bag<TextFieldWire>();
  for (const name of [...fields.keys()].sort()) {
    const f = fields.get(name) as TextFieldSettings;
    wire[name] = {
      language: f.language,
      stemming: f.stemming,
      remove_stopwords: f.removeStopwords,
      case_sensitive: f.caseSensitive,
      ascii_folding: f.asciiFolding,
      max_token_length: f.maxTokenLength,
      k1: f.k1,
      b: f.b,
      ...(f.tokenizer === undefined ? {} : { tokenizer: f.tokenizer }),
    };
  }
  return wire;
}

/** `attachment`: the manifest object's attached bytes (inline batches), when it has any. */
function fromWire(raw: Record<string, unknown>, attachment?: Uint8Array): Manifest {
  const parent = raw["parent"] as { namespace: string; version: number } | null | undefined;
  const vector = raw["vector"] as { dimension?: number | null; metric: DistanceMetric } | null | undefined;
  const deletedAt = raw["deleted_at"];
  const textFields = raw["text_fields"] as Record<string, TextFieldWire> | null | undefined;
  const schema = raw["schema"] as NamespaceSchemaWire | null | undefined;
  const extra = extrasOf(raw, KNOWN);
  return {
    schemaVersion: raw["schema_version"] as number,
    namespace: raw["namespace"] as string,
    version: raw["version"] as number,
    createdAt: timestampFromWire(raw["created_at"] as string),
    updatedAt: timestampFromWire(raw["updated_at"] as string),
    ...(typeof deletedAt === "string" ? { deletedAt: timestampFromWire(deletedAt) } : {}),
    ...(parent !== undefined && parent !== null ? { parent: { namespace: parent.namespace, version: parent.version } } : {}),
    ...(vector !== undefined && vector !== null
      ? {
          vector:
            vector.dimension === undefined || vector.dimension === null
              ? { metric: vector.metric }
              : { dimension: vector.dimension, metric: vector.metric },
        }
      : {}),
    ...(textFields !== undefined && textFields !== null ? { textFields: textFieldsFromWire(textFields) } : {}),
    ...(schema !== undefined && schema !== null ? { schema: namespaceSchemaFromWire(schema) } : {}),
    containers: (raw["containers"] as Record<string, unknown>[]).map((c) => containerFromWire(c, attachment)),
    rowIdHighWater: rowIdFromHex(raw["row_id_high_water"] as string),
    recentWrites: (
      raw["recent_writes"] as { idempotency_key: string; version: number; committed_at: string; count?: number | null }[]
    ).map((w) => ({
      idempotencyKey: w.idempotency_key,
      version: w.version,
      committedAt: timestampFromWire(w.committed_at),
      ...(typeof w.count === "number" ? { count: w.count } : {}),
    })),
    labels: mapFromRecord<string>(raw["labels"] as Record<string, unknown>),
    ...(extra === undefined ? {} : { extra }),
  };
}

function toWire(m: Manifest): Record<string, unknown> {
  const d = MANIFEST_DOCUMENT;
  const wire = bag<unknown>();
  wire["schema_version"] = m.schemaVersion;
  wire["namespace"] = m.namespace;
  wire["version"] = m.version;
  wire["created_at"] = timestampToWire(m.createdAt, d, "created_at");
  wire["updated_at"] = timestampToWire(m.updatedAt, d, "updated_at");
  if (m.deletedAt !== undefined) wire["deleted_at"] = timestampToWire(m.deletedAt, d, "deleted_at");
  if (m.parent !== undefined) wire["parent"] = { namespace: m.parent.namespace, version: m.parent.version };
  if (m.vector !== undefined) {
    wire["vector"] =
      m.vector.dimension === undefined ? { metric: m.vector.metric } : { dimension: m.vector.dimension, metric: m.vector.metric };
  }
  if (m.textFields !== undefined) wire["text_fields"] = textFieldsToWire(m.textFields);
  if (m.schema !== undefined) wire["schema"] = namespaceSchemaToWire(m.schema);
  let offset = 0;
  wire["containers"] = m.containers.map((c) => {
    const ref = containerToWire(c, offset);
    offset += c.inline?.length ?? 0;
    return ref;
  });
  wire["row_id_high_water"] = idToHex(m.rowIdHighWater);
  wire["recent_writes"] = m.recentWrites.map(recentWriteToWire);
  wire["labels"] = recordFromMap(m.labels);
  mergeExtras(wire, m.extra, KNOWN);
  return wire;
}

export const manifestSpec: JsonDocumentSpec<Manifest> = {
  document: MANIFEST_DOCUMENT,
  schemaVersion: MANIFEST_SCHEMA_VERSION,
  schema: manifestWireSchema,
  fromWire: (raw) => fromWire(raw),
  toWire,
  check,
};

/**
 * UTF-8 JSON of each container ref and recent write already validated by `encodeManifest`, by object.
 * Refs and recent writes are immutable and carried from one manifest to the next, so a commit that
 * appends one container validates and serializes only that one.
 */
const containerJson = new WeakMap<ContainerRef, Uint8Array>();
const recentWriteJson = new WeakMap<RecentWrite, Uint8Array>();

function partJson<T extends object>(
  cache: WeakMap<T, Uint8Array>,
  value: T,
  field: string,
  schema: z.ZodType,
  toWire: (value: T) => Record<string, unknown>,
  extraCheck?: (wire: Record<string, unknown>) => [string, string] | undefined,
): Uint8Array {
  const cached = cache.get(value);
  if (cached !== undefined) return cached;
  const wire = toWire(value);
  const result = schema.safeParse(wire);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SchemaError(MANIFEST_DOCUMENT, formatPath([field, ...(issue?.path ?? [])]), issue?.message ?? "invalid", result.error);
  }
  const problem = extraCheck?.(wire);
  if (problem !== undefined) throw new SchemaError(MANIFEST_DOCUMENT, problem[0], problem[1]);
  let json: Uint8Array;
  try {
    json = textEncoder.encode(JSON.stringify(wire));
  } catch (error) {
    throw new SchemaError(MANIFEST_DOCUMENT, field, `cannot serialize: ${String(error)}`, error);
  }
  cache.set(value, json);
  return json;
}

/**
 * JSON of a ref carrying inline bytes (only a carrier's own batch): validated like `partJson` plus the bytes'
 * length, not cached (its offset belongs to this manifest's attachment, and it is encoded once).
 */
function inlineRefJson(ref: ContainerRef, index: number, offset: number): Uint8Array {
  const field = `containers[${index}]`;
  const wire = containerToWire(ref, offset);
  const result = containerRefWireSchema.safeParse(wire);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SchemaError(MANIFEST_DOCUMENT, formatPath([field, ...(issue?.path ?? [])]), issue?.message ?? "invalid", result.error);
  }
  const problem = checkContainer(wire, index, ref.inline?.length);
  if (problem !== undefined) throw new SchemaError(MANIFEST_DOCUMENT, problem[0], problem[1]);
  try {
    return textEncoder.encode(JSON.stringify(wire));
  } catch (error) {
    throw new SchemaError(MANIFEST_DOCUMENT, field, `cannot serialize: ${String(error)}`, error);
  }
}

/**
 * First bytes of every manifest object written today (envelope version 2):
 * `SKERRY-MANIFEST 2 <JSON byte length> <BLAKE3 hex of the body>\n<JSON><attachment>`.
 * Legacy (read only): `SKERRY-MANIFEST 1 <JSON byte length>\n<JSON><attachment>`, and plain JSON.
 */
const ENVELOPE_PREFIX = "SKERRY-MANIFEST ";
const ENVELOPE_PREFIX_BYTES = textEncoder.encode(ENVELOPE_PREFIX);
/** The envelope version `encodeManifest` writes. */
export const MANIFEST_ENVELOPE_VERSION = 2;
/** Format name in the `CorruptDataError`s and `UnsupportedVersionError`s of the envelope. */
const ENVELOPE_FORMAT = "manifest";
/** Longest envelope header: the prefix, a version, up to 16 digits, a space, the hash, the newline. */
const ENVELOPE_HEADER_MAX = ENVELOPE_PREFIX.length + 8 + 1 + 16 + 1 + 64 + 1;

function recentWriteToWire(w: RecentWrite, i: number): Record<string, unknown> {
  return {
    idempotency_key: w.idempotencyKey,
    version: w.version,
    committed_at: timestampToWire(w.committedAt, MANIFEST_DOCUMENT, `recent_writes[${i}].committed_at`),
    ...(w.count === undefined ? {} : { count: w.count }),
  };
}

/**
 * Validates and serializes a manifest: the same checks and the same bytes as the generic document
 * encoder (so this package never writes a manifest it would refuse to read), but each container ref and
 * recent write is validated and serialized once per object (see `containerText`). Decoding stays strict.
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const attached: Uint8Array[] = [];
  let attachedBytes = 0;
  let top: Record<string, unknown>;
  let containers: Uint8Array[];
  let recent: Uint8Array[];
  try {
    top = toWire({ ...manifest, containers: [], recentWrites: [] });
    containers = manifest.containers.map((ref, i) => {
      if (ref.inline === undefined) {
        return partJson(containerJson, ref, `containers[${i}]`, containerRefWireSchema, (r) => containerToWire(r), (wire) => checkContainer(wire, i));
      }
      attached.push(ref.inline);
      const json = inlineRefJson(ref, i, attachedBytes);
      attachedBytes += ref.inline.length;
      return json;
    });
    recent = manifest.recentWrites.map((w, i) => partJson(recentWriteJson, w, `recent_writes[${i}]`, recentWriteWireSchema, (v) => recentWriteToWire(v, i)));
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    throw new SchemaError(MANIFEST_DOCUMENT, "", `cannot encode: ${String(error)}`, error);
  }
  validateWire(manifestSpec, top);
  const seen = new Set<string>();
  for (const [index, ref] of manifest.containers.entries()) {
    if (seen.has(ref.id)) throw new SchemaError(MANIFEST_DOCUMENT, `containers[${index}].id`, `duplicate container id ${ref.id}`);
    seen.add(ref.id);
    const problem = checkCarrier(manifest.version, ref.carrierVersion, ref.inline !== undefined, index);
    if (problem !== undefined) throw new SchemaError(MANIFEST_DOCUMENT, problem[0], problem[1]);
  }
  // JSON.stringify(wire) with the two arrays spliced in as cached bytes (same key order, same bytes).
  const chunks: Uint8Array[] = [];
  let text = "{";
  let first = true;
  const array = (parts: readonly Uint8Array[]) => {
    chunks.push(textEncoder.encode(`${text}[`));
    text = "]";
    parts.forEach((part, i) => {
      if (i > 0) chunks.push(COMMA);
      chunks.push(part);
    });
  };
  for (const key of Object.keys(top)) {
    let value: string | undefined;
    if (key !== "containers" && key !== "recent_writes") {
      try {
        value = JSON.stringify(top[key]);
      } catch (error) {
        throw new SchemaError(MANIFEST_DOCUMENT, key, `cannot serialize: ${String(error)}`, error);
      }
      if (value === undefined) continue;
    }
    text += `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    if (key === "containers") array(containers);
    else if (key === "recent_writes") array(recent);
    else text += value;
  }
  chunks.push(textEncoder.encode(`${text}}`));
  let jsonLength = 0;
  for (const chunk of chunks) jsonLength += chunk.length;
  chunks.push(...attached);
  // The envelope: a header naming the JSON's length and the body's hash, then the body (the JSON, then the
  // inline bytes in container order). The body is assembled in place after the header's (fixed) length.
  const prefix = textEncoder.encode(`${ENVELOPE_PREFIX}${MANIFEST_ENVELOPE_VERSION} ${jsonLength} `);
  const headerLength = prefix.length + 64 + 1;
  const out = new Uint8Array(headerLength + jsonLength + attachedBytes);
  let at = headerLength;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  out.set(prefix, 0);
  out.set(textEncoder.encode(`${contentHash(out.subarray(headerLength))}\n`), prefix.length);
  return out;
}

const COMMA = textEncoder.encode(",");

/** The JSON part and the attachment of a manifest object (legacy plain JSON: no attachment). */
function splitEnvelope(bytes: Uint8Array): { json: Uint8Array; attachment: Uint8Array | undefined } {
  if (bytes.length < ENVELOPE_PREFIX_BYTES.length || !ENVELOPE_PREFIX_BYTES.every((b, i) => bytes[i] === b)) return { json: bytes, attachment: undefined };
  const newline = bytes.subarray(0, ENVELOPE_HEADER_MAX).indexOf(0x0a);
  if (newline < 0) throw new CorruptDataError(ENVELOPE_FORMAT, "malformed", "envelope header has no end of line", { offset: 0 });
  const fields = String.fromCharCode(...bytes.subarray(ENVELOPE_PREFIX_BYTES.length, newline)).split(" ");
  const version = fields[0] ?? "";
  if (!/^[1-9][0-9]{0,7}$/.test(version)) throw new CorruptDataError(ENVELOPE_FORMAT, "malformed", `envelope version ${JSON.stringify(version)}`, { offset: 0 });
  const start = newline + 1;
  if (version === "1") return splitLegacyEnvelope(bytes, fields, start);
  if (Number(version) > MANIFEST_ENVELOPE_VERSION) throw new UnsupportedVersionError("manifest envelope", Number(version), MANIFEST_ENVELOPE_VERSION);
  const [, digits = "", hash = ""] = fields;
  if (fields.length !== 3 || !/^[1-9][0-9]{0,15}$/.test(digits) || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new CorruptDataError(ENVELOPE_FORMAT, "malformed", "envelope header is not `SKERRY-MANIFEST 2 <length> <hash>`", { offset: 0 });
  }
  // The hash first: nothing of a body that is not the one written is interpreted.
  const body = bytes.subarray(start);
  const actual = contentHash(body);
  if (actual !== hash) {
    throw new CorruptDataError(ENVELOPE_FORMAT, "checksum-mismatch", `body of ${body.length} bytes hashes to ${actual}; the header says ${hash}`, { offset: start });
  }
  const end = start + Number(digits);
  if (end > bytes.length) throw new CorruptDataError(ENVELOPE_FORMAT, "truncated", `envelope names ${digits} JSON bytes; only ${body.length} follow`, { offset: start });
  return { json: bytes.subarray(start, end), attachment: bytes.subarray(end) };
}

/** Envelope version 1 (legacy, no hash): `SKERRY-MANIFEST 1 <n>\n` + n bytes of JSON + the attachment. */
function splitLegacyEnvelope(bytes: Uint8Array, fields: readonly string[], start: number): { json: Uint8Array; attachment: Uint8Array } {
  const digits = fields[1] ?? "";
  if (fields.length !== 2 || !/^[1-9][0-9]{0,15}$/.test(digits)) throw new SchemaError(MANIFEST_DOCUMENT, "", "malformed envelope header");
  const end = start + Number(digits);
  if (end > bytes.length) throw new SchemaError(MANIFEST_DOCUMENT, "", `envelope names ${digits} JSON bytes; only ${bytes.length - start} follow`);
  return { json: bytes.subarray(start, end), attachment: bytes.subarray(end) };
}

/** Inline refs' bytes lie within the attachment, which holds nothing else. */
function checkAttachment(raw: Record<string, unknown>, attachment: Uint8Array | undefined): void {
  let total = 0;
  for (const [index, container] of (raw["containers"] as Record<string, unknown>[]).entries()) {
    const offset = container["inline_offset"];
    if (typeof offset !== "number") continue;
    const size = container["byte_size"] as number;
    if (attachment === undefined || offset + size > attachment.length) {
      throw new SchemaError(MANIFEST_DOCUMENT, `containers[${index}].inline_offset`, `bytes ${offset}..${offset + size} are outside the attachment (${attachment?.length ?? 0} bytes)`);
    }
    total += size;
  }
  if (attachment !== undefined && total !== attachment.length) {
    throw new SchemaError(MANIFEST_DOCUMENT, "", `attachment of ${attachment.length} bytes; its inline batches account for ${total}`);
  }
}

/**
 * Decodes a manifest object: the envelope `SKERRY-MANIFEST 2 <n> <hash>\n` + n bytes of JSON + the attachment
 * (inline batches' bytes, each at its ref's `inline_offset`, `byte_size` long, nothing else), its hash
 * verified over the body before parsing; or a legacy object, read unverified: plain JSON (also a string),
 * or `SKERRY-MANIFEST 1 <n>\n` + JSON + attachment.
 */
export function decodeManifest(input: Uint8Array | string, options: DecodeDocumentOptions = {}): Manifest {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  if (input instanceof Uint8Array && input.length > maxBytes) {
    throw new SchemaError(MANIFEST_DOCUMENT, "", `document of ${input.length} bytes exceeds the ${maxBytes}-byte cap`);
  }
  const { json, attachment } = input instanceof Uint8Array ? splitEnvelope(input) : { json: input, attachment: undefined };
  const record = validateWire(manifestSpec, parseDocumentJson(MANIFEST_DOCUMENT, json, options));
  checkAttachment(record, attachment);
  return mapDocument(MANIFEST_DOCUMENT, () => fromWire(record, attachment));
}
