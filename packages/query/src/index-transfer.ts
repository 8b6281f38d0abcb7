/**
 * A QueryIndex's state as a worker-thread message, and back.
 *
 * The state is typed arrays, plain objects and StringTables (whose caches
 * and lookup Maps must not be cloned: they can hold a string per row). The
 * message replaces each StringTable with `{ $strings: [offsets, bytes] }`
 * and keeps everything else as is; dense vectors live in a shared
 * WasmMemory, which a message shares rather than copies.
 * `transferables` lists the array buffers a sender that gives them up may
 * transfer instead of copying (whole, unshared buffers only: a pooled
 * Buffer's slab is never listed).
 */
import { QueryIndex, type QueryIndexState } from "./query-index.ts";
import { StringTable } from "./string-table.ts";
import { wasmApi } from "./wasm-api.ts";

/** A QueryIndexState with StringTables replaced by their arrays. */
export type IndexStateMessage = { readonly __indexState: Record<string, unknown> };

interface StringsMarker {
  readonly $strings: readonly [Uint32Array, Uint8Array];
}

function isStringsMarker(v: object): v is StringsMarker {
  return Object.hasOwn(v, "$strings");
}

function isWasmMemory(v: object): boolean {
  return wasmApi !== undefined && v instanceof wasmApi.Memory;
}

function toMessageValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof StringTable) return { $strings: [v.offsets, v.bytes] } satisfies StringsMarker;
  if (ArrayBuffer.isView(v) || isWasmMemory(v) || v instanceof Set || v instanceof Map) return v;
  if (Array.isArray(v)) return v.map(toMessageValue);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = toMessageValue((v as Record<string, unknown>)[k]);
  return out;
}

function fromMessageValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v) || isWasmMemory(v) || v instanceof Set || v instanceof Map) return v;
  if (Array.isArray(v)) return v.map(fromMessageValue);
  if (isStringsMarker(v)) return new StringTable(v.$strings[0], v.$strings[1]);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = fromMessageValue((v as Record<string, unknown>)[k]);
  return out;
}

/** The state of `index` as a message (its arrays are shared with the index, not copied). */
export function indexStateMessage(index: QueryIndex): IndexStateMessage {
  return { __indexState: toMessageValue(index.state) as Record<string, unknown> };
}

/** The QueryIndex a message describes. */
export function queryIndexFromMessage(message: IndexStateMessage): QueryIndex {
  return new QueryIndex(fromMessageValue(message.__indexState) as QueryIndexState);
}

/** Array buffers of `message` that may be transferred: whole, unshared, each once. */
export function transferables(message: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") return;
    if (ArrayBuffer.isView(v)) {
      const buffer = v.buffer;
      if (buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === buffer.byteLength && buffer.byteLength > 0) out.add(buffer);
      return;
    }
    if (isWasmMemory(v) || v instanceof Set || v instanceof Map) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
  };
  walk(message);
  return [...out];
}
