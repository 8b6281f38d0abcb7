/**
 * Clusters: the per-row data of a stored query index laid out row range by
 * row range, so a cold query fetches everything it needs about the rows of
 * one IVF list with ONE ranged read (index format 3, index-codec.ts).
 *
 * A cluster holds rows (slots) [start, end), m = end - start, of one IVF
 * list (lists with more rows than fit in about 1 MiB are cut into several
 * clusters; an index without IVF is cut the same way). Its bytes, each part
 * present only when the index has it:
 *
 *   vectors      f32  m x stride   raw rows (the dimension padded to 4)
 *   invNorms     f64  m            1/|v| per row
 *   positions    u32  m            input position of each row
 *   idOffsets    u32  m + 1        offsets into idBytes (first = 0)
 *   rowOffsets   u32  m + 1        offsets into the index's row store JSON
 *                                  (global: the row store is a section)
 *   missing      u8   m            1 = the row has no vector
 *   idBytes      u8                the rows' ids, UTF-8, back to back
 *   padding           zero bytes up to a multiple of 8
 *
 * Every part starts aligned for its type (vectors are a multiple of 16
 * bytes), so decoding makes views, not copies.
 */

/** Which parts a cluster has, and the vector stride. */
export interface ClusterShape {
  /** Floats per stored row (0: no vectors). */
  readonly stride: number;
  readonly positions: boolean;
  readonly rows: boolean;
}

/** One cluster's rows, as views into its bytes. */
export interface ClusterRows {
  readonly count: number;
  readonly vectors: Float32Array | null;
  readonly invNorms: Float64Array | null;
  readonly positions: Uint32Array | null;
  readonly idOffsets: Uint32Array;
  readonly rowOffsets: Uint32Array | null;
  readonly missing: Uint8Array | null;
  readonly idBytes: Uint8Array;
}

/** Encoded size of a cluster of `count` rows whose ids take `idBytes` bytes. */
export function clusterBytes(shape: ClusterShape, count: number, idBytes: number): number {
  return align8(fixedBytes(shape, count) + idBytes);
}

/** Offset inside a cluster of `count` rows of its last id offset, which is the id bytes' length. */
export function clusterIdLengthOffset(shape: ClusterShape, count: number): number {
  let at = 0;
  if (shape.stride > 0) at += count * shape.stride * 4 + count * 8;
  if (shape.positions) at += count * 4;
  return at + count * 4;
}

/** Bytes of the fixed-width parts (everything before the id bytes). */
function fixedBytes(shape: ClusterShape, count: number): number {
  let at = 0;
  if (shape.stride > 0) at += count * shape.stride * 4 + count * 8;
  if (shape.positions) at += count * 4;
  at += (count + 1) * 4;
  if (shape.rows) at += (count + 1) * 4;
  if (shape.stride > 0) at += count;
  return at;
}

/** Writes one cluster into `out` (exactly clusterBytes long). */
export function writeCluster(out: Uint8Array, shape: ClusterShape, rows: ClusterRows): void {
  const m = rows.count;
  const buffer = out.buffer;
  let at = out.byteOffset;
  const put = (source: ArrayBufferView | null, bytes: number) => {
    if (source !== null) new Uint8Array(buffer, at, bytes).set(new Uint8Array(source.buffer, source.byteOffset, bytes));
    at += bytes;
  };
  if (shape.stride > 0) {
    put(rows.vectors, m * shape.stride * 4);
    put(rows.invNorms, m * 8);
  }
  if (shape.positions) put(rows.positions, m * 4);
  put(rows.idOffsets, (m + 1) * 4);
  if (shape.rows) put(rows.rowOffsets, (m + 1) * 4);
  if (shape.stride > 0) put(rows.missing, m);
  put(rows.idBytes, rows.idBytes.byteLength);
}

/**
 * Views over one cluster's parts; `bytes` must be 8-aligned and exactly the
 * cluster. Returns a reason string when the bytes cannot be this cluster
 * (wrong length, offsets out of order or out of range).
 */
export function readCluster(bytes: Uint8Array, shape: ClusterShape, count: number): ClusterRows | string {
  if (bytes.byteOffset % 8 !== 0) return "cluster is not 8-byte aligned";
  const fixed = fixedBytes(shape, count);
  if (bytes.byteLength < fixed) return `cluster of ${count} rows needs at least ${fixed} bytes, has ${bytes.byteLength}`;
  const buffer = bytes.buffer as ArrayBuffer;
  let at = bytes.byteOffset;
  const take = <T>(make: (offset: number, length: number) => T, length: number, size: number): T => {
    const view = make(at, length);
    at += length * size;
    return view;
  };
  const f32 = (o: number, l: number) => new Float32Array(buffer, o, l);
  const f64 = (o: number, l: number) => new Float64Array(buffer, o, l);
  const u32 = (o: number, l: number) => new Uint32Array(buffer, o, l);
  const u8 = (o: number, l: number) => new Uint8Array(buffer, o, l);
  const vectors = shape.stride > 0 ? take(f32, count * shape.stride, 4) : null;
  const invNorms = shape.stride > 0 ? take(f64, count, 8) : null;
  const positions = shape.positions ? take(u32, count, 4) : null;
  const idOffsets = take(u32, count + 1, 4);
  const rowOffsets = shape.rows ? take(u32, count + 1, 4) : null;
  const missing = shape.stride > 0 ? take(u8, count, 1) : null;
  if (idOffsets[0] !== 0) return "cluster id offsets do not start at 0";
  for (let i = 1; i <= count; i++) if (idOffsets[i]! < idOffsets[i - 1]!) return "cluster id offsets are not monotone";
  const idLength = idOffsets[count]!;
  if (bytes.byteLength !== align8(fixed + idLength)) return `cluster has ${bytes.byteLength} bytes, its parts ${align8(fixed + idLength)}`;
  const idBytes = u8(at, idLength);
  if (rowOffsets !== null) for (let i = 1; i <= count; i++) if (rowOffsets[i]! < rowOffsets[i - 1]!) return "cluster row offsets are not monotone";
  return { count, vectors, invNorms, positions, idOffsets, rowOffsets, missing, idBytes };
}

/**
 * Cluster boundaries (slots): each IVF list's rows cut into clusters of at
 * most `maxRows` rows (empty lists have none), then the rows after the last
 * list (rows without a vector) the same way; without IVF, all rows.
 */
export function clusterBoundaries(size: number, listOffsets: Uint32Array | null, maxRows: number): number[] {
  const out = [0];
  const cut = (end: number) => {
    let start = out[out.length - 1]!;
    while (end - start > maxRows) {
      start += maxRows;
      out.push(start);
    }
    if (end > start) out.push(end);
  };
  if (listOffsets !== null) for (let j = 1; j < listOffsets.length; j++) cut(listOffsets[j]!);
  cut(size);
  return out;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
