/**
 * A bounds-checked pre-flight over an Arrow IPC stream, run before the bytes
 * reach apache-arrow's reader.
 *
 * Why: Arrow JS trusts the flatbuffer metadata it parses. A corrupted field
 * count or vector length in a schema or record-batch message makes it loop
 * and allocate until the process runs out of memory (found by this package's
 * fuzz test). A row batch's schema is fully determined by its vector
 * dimension, so the guard requires the schema message to be byte-identical to
 * the canonical one, and walks each record-batch message with a minimal
 * flatbuffer reader that checks node and buffer counts against the schema,
 * rejects compression and extra metadata, and keeps every buffer inside the
 * message body and every body inside the stream. Only then does Arrow see the
 * bytes.
 *
 * Errors: `CorruptDataError` (reason `malformed`, `too-large` for a batch
 * longer than the caller's cap).
 */
import { CorruptDataError } from "../errors.ts";
import { dataView } from "./binary.ts";

const CONTINUATION = 0xffff_ffff;
const HEADER_RECORD_BATCH = 3;

export interface IpcExpectations {
  /** The exact bytes of the schema message (continuation, length, flatbuffer, padding). */
  readonly schemaMessage: Uint8Array;
  readonly fieldNodes: number;
  readonly buffers: number;
  readonly maxRows: number;
}

class FlatReader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly fail: (detail: string) => never,
  ) {
    this.view = dataView(bytes);
  }
  check(at: number, size: number): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + size > this.bytes.length) this.fail(`flatbuffer read of ${size} bytes at ${at} out of bounds`);
  }
  u8(at: number): number {
    this.check(at, 1);
    return this.view.getUint8(at);
  }
  u16(at: number): number {
    this.check(at, 2);
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    this.check(at, 4);
    return this.view.getUint32(at, true);
  }
  i64(at: number): bigint {
    this.check(at, 8);
    return this.view.getBigInt64(at, true);
  }
  /** Absolute position of field `index` of the table at `table`, or -1 when absent. */
  field(table: number, index: number): number {
    this.check(table, 4);
    const vtable = table - this.view.getInt32(table, true);
    const size = this.u16(vtable);
    if (size < 4 || size % 2 !== 0) this.fail("bad vtable size");
    const slot = 4 + index * 2;
    if (slot + 2 > size) return -1;
    const offset = this.u16(vtable + slot);
    return offset === 0 ? -1 : table + offset;
  }
  /** Follow an offset field to a table (or vector). */
  deref(at: number): number {
    return at + this.u32(at);
  }
}

/** Validate the stream's framing and metadata; throws on anything unexpected. */
export function guardIpcStream(ipc: Uint8Array, expect: IpcExpectations, format: string, base: number): void {
  const view = dataView(ipc);
  let pos = 0;
  const fail = (detail: string, reason: "malformed" | "too-large" = "malformed"): never => {
    throw new CorruptDataError(format, reason, `Arrow IPC: ${detail}`, { offset: base + pos });
  };
  const schema = expect.schemaMessage;
  if (ipc.length < schema.length) fail("stream shorter than its schema message");
  for (let i = 0; i < schema.length; i++) {
    if (ipc[i] !== schema[i]) fail(`schema message differs from the canonical row-batch schema at byte ${i}`);
  }
  pos = schema.length;
  for (;;) {
    if (pos + 8 > ipc.length) fail("stream ends without an end-of-stream marker");
    if (view.getUint32(pos, true) !== CONTINUATION) fail("missing continuation marker");
    const metaLength = view.getInt32(pos + 4, true);
    if (metaLength === 0) {
      if (pos + 8 !== ipc.length) fail("bytes after the end-of-stream marker");
      return;
    }
    if (metaLength < 0 || pos + 8 + metaLength > ipc.length) fail(`metadata length ${metaLength} out of bounds`);
    const meta = new FlatReader(ipc.subarray(pos + 8, pos + 8 + metaLength), fail);
    const message = meta.deref(0);
    const headerTypeAt = meta.field(message, 1);
    if (headerTypeAt < 0 || meta.u8(headerTypeAt) !== HEADER_RECORD_BATCH) fail("only record batch messages may follow the schema");
    if (meta.field(message, 4) >= 0) fail("message custom metadata is not allowed");
    const bodyAt = meta.field(message, 3);
    const bodyLength = bodyAt < 0 ? 0n : meta.i64(bodyAt);
    const bodyStart = pos + 8 + metaLength;
    if (bodyLength < 0n || bodyLength > BigInt(ipc.length - bodyStart)) fail(`body length ${bodyLength} out of bounds`);
    const headerAt = meta.field(message, 2);
    if (headerAt < 0) fail("record batch message without a header");
    const batch = meta.deref(headerAt);
    const lengthAt = meta.field(batch, 0);
    const rows = lengthAt < 0 ? 0n : meta.i64(lengthAt);
    if (rows < 0n) fail("negative batch length");
    if (rows > BigInt(expect.maxRows)) fail(`batch of ${rows} rows exceeds ${expect.maxRows}`, "too-large");
    if (meta.field(batch, 3) >= 0) fail("compressed record batches are not allowed");
    const variadic = meta.field(batch, 4);
    if (variadic >= 0 && meta.u32(meta.deref(variadic)) !== 0) fail("variadic buffers are not allowed");
    const nodesAt = meta.field(batch, 1);
    const buffersAt = meta.field(batch, 2);
    if (nodesAt < 0 || buffersAt < 0) fail("record batch without nodes or buffers");
    const nodes = meta.deref(nodesAt);
    const nodeCount = meta.u32(nodes);
    if (nodeCount !== expect.fieldNodes) fail(`${nodeCount} field nodes, the schema has ${expect.fieldNodes}`);
    meta.check(nodes + 4, nodeCount * 16);
    for (let i = 0; i < nodeCount; i++) {
      const length = meta.i64(nodes + 4 + i * 16);
      const nulls = meta.i64(nodes + 12 + i * 16);
      if (length < 0n || nulls < 0n || nulls > length) fail(`field node ${i} has length ${length} and ${nulls} nulls`);
    }
    const buffers = meta.deref(buffersAt);
    const bufferCount = meta.u32(buffers);
    if (bufferCount !== expect.buffers) fail(`${bufferCount} buffers, the schema needs ${expect.buffers}`);
    meta.check(buffers + 4, bufferCount * 16);
    for (let i = 0; i < bufferCount; i++) {
      const offset = meta.i64(buffers + 4 + i * 16);
      const length = meta.i64(buffers + 12 + i * 16);
      if (offset < 0n || length < 0n || offset + length > bodyLength) fail(`buffer ${i} lies outside the message body`);
    }
    pos = bodyStart + Number(bodyLength);
  }
}
