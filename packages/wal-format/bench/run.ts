/**
 * Codec throughput, each figure printed beside a Buffer.copy of the same
 * number of bytes measured in the same run (the machine is noisy; the ratio
 * is the figure to compare across runs).
 *
 * Two copy baselines are shown: copying into an already-allocated buffer
 * (pure memory bandwidth) and allocating a fresh buffer then copying (what
 * any encoder that returns new bytes must at least do; on Linux the fresh
 * pages' first-touch faults dominate for large buffers).
 *
 *   pnpm --filter @skerry/wal-format bench
 */
import {
  decodeRowBatch,
  decodeRowBatchTable,
  decodeTombstoneSidecar,
  encodeFramedLog,
  encodeRowBatch,
  encodeTombstoneSidecar,
  readFramedLog,
  type RowDocumentInput,
  rowId,
  seededRandom,
} from "@skerry/wal-format";

function best(runs: number, fn: () => unknown): number {
  fn();
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    min = Math.min(min, performance.now() - start);
  }
  return min;
}

function copyBaselines(bytes: number): { pre: number; fresh: number } {
  const source = Buffer.alloc(bytes, 7);
  const target = Buffer.allocUnsafe(bytes);
  const pre = best(7, () => source.copy(target));
  const fresh = best(7, () => source.copy(Buffer.allocUnsafe(bytes)));
  return { pre, fresh };
}

function report(label: string, ms: number, bytes: number, copy: { pre: number; fresh: number }): void {
  const mbps = (bytes / 1e6 / (ms / 1000)).toFixed(0);
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms ${mbps.padStart(6)} MB/s | copy ${copy.pre.toFixed(1)} ms -> ${(copy.pre / ms).toFixed(2)}x | alloc+copy ${copy.fresh.toFixed(1)} ms -> ${(copy.fresh / ms).toFixed(2)}x`,
  );
}

const random = seededRandom(42);

// Arrow row batch: 100k rows x 128-dim.
{
  const rows = 100_000;
  const dim = 128;
  const docs: RowDocumentInput[] = [];
  for (let i = 0; i < rows; i++) {
    const vector = new Float32Array(dim);
    for (let k = 0; k < dim; k++) vector[k] = random.nextUint32() / 2 ** 32;
    docs.push({ rowId: rowId(BigInt(i) + (1n << 80n)), id: `doc-${i}`, vector });
  }
  let bytes: Uint8Array = new Uint8Array(0);
  const encode = best(5, () => (bytes = encodeRowBatch(docs)));
  const copy = copyBaselines(bytes.length);
  console.log(`row batch: ${rows} rows x ${dim}-dim, ${(bytes.length / 1e6).toFixed(1)} MB`);
  report("  encode (documents -> bytes, BLAKE3 incl.)", encode, bytes.length, copy);
  report("  decode to Arrow table (verify incl.)", best(5, () => decodeRowBatchTable(bytes)), bytes.length, copy);
  report("  decode to documents", best(3, () => decodeRowBatch(bytes)), bytes.length, copy);
}

// Tombstone sidecar: 1M random positions.
{
  const positions = new Uint32Array(1_000_000);
  for (let i = 0; i < positions.length; i++) positions[i] = random.nextUint32() & 0xff_ffff;
  let bytes: Uint8Array = new Uint8Array(0);
  const encode = best(7, () => (bytes = encodeTombstoneSidecar({ positions })));
  const decode = best(7, () => decodeTombstoneSidecar(bytes));
  const copy = copyBaselines(bytes.length);
  console.log(`tombstone sidecar: 1M random positions in [0, 2^24), ${(bytes.length / 1e6).toFixed(2)} MB`);
  report("  encode (sort + roaring-wasm)", encode, bytes.length, copy);
  report("  decode (strict portable reader)", decode, bytes.length, copy);
  console.log(`  encode + decode: ${(encode + decode).toFixed(1)} ms (goal < 50 ms)`);
}

// Framed log: 100k entries of 1 KiB.
{
  const entries: Uint8Array[] = [];
  for (let i = 0; i < 100_000; i++) {
    const entry = new Uint8Array(1024);
    entry.fill(i & 0xff);
    entries.push(entry);
  }
  let bytes: Uint8Array = new Uint8Array(0);
  const encode = best(5, () => (bytes = encodeFramedLog({ baseRevision: 1n, entries })));
  const copy = copyBaselines(bytes.length);
  console.log(`framed log: 100k entries x 1 KiB, ${(bytes.length / 1e6).toFixed(1)} MB`);
  report("  encode", encode, bytes.length, copy);
  report("  read (verify every CRC)", best(5, () => readFramedLog(bytes)), bytes.length, copy);
}
