/**
 * Clusters: the per-row data of a stored query index laid out row range by
 * row range, so a cold query fetches everything it needs about the rows of
 * one IVF list with ONE ranged read (index formats 3 and 4, index-codec.ts).
 *
 * A cluster holds rows (slots) [start, end), m = end - start, of one IVF
 * list (lists with more rows than fit in about 1 MiB are cut into several
 * clusters; an index without IVF is cut the same way). Its bytes, each part
 * present only when the index has it.
 *
 * Format 3 (full-precision vectors in the cluster):
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
 * Format 4 (`codes`: 8-bit scalar-quantized vectors; the full-precision
 * rows are the index's `vectors` section, read only for re-ranking):
 *
 *   lo           f32  stride       per dimension: the cluster's minimum
 *   step         f32  stride       per dimension: (max - min) / 255
 *   invNorms     f64  m            1/|v| per row (of the full-precision row)
 *   positions    u32  m
 *   idOffsets    u32  m + 1
 *   rowOffsets   u32  m + 1
 *   codes        u8   m x stride   round((v - lo) / step), 0..255 (0 where
 *                                  step is 0, and for rows without a vector)
 *   missing      u8   m
 *   idBytes      u8
 *   padding           zero bytes up to a multiple of 8
 *
 * A row's value in dimension d is about lo[d] + step[d] * code[d] (off by
 * at most step[d] / 2). Every part starts aligned for its type (the stride
 * is a multiple of 4, so the f32 parts are a multiple of 16 bytes), so
 * decoding makes views, not copies.
 */

/** Which parts a cluster has, and the vector stride. */
export interface ClusterShape {
  /** Floats per stored row (0: no vectors). */
  readonly stride: number;
  readonly positions: boolean;
  readonly rows: boolean;
  /** Format 4: 8-bit codes (and lo/step) in place of float32 vectors. */
  readonly codes: boolean;
}

/** One cluster's rows, as views into its bytes. */
export interface ClusterRows {
  readonly count: number;
  /** Format 3: the raw rows. */
  readonly vectors: Float32Array | null;
  /** Format 4: per-dimension minimum and step, and the rows' codes (m x stride). */
  readonly lo: Float32Array | null;
  readonly step: Float32Array | null;
  readonly codes: Uint8Array | null;
  readonly invNorms: Float64Array | null;
  readonly positions: Uint32Array | null;
  readonly idOffsets: Uint32Array;
  readonly rowOffsets: Uint32Array | null;
  readonly missing: Uint8Array | null;
  readonly idBytes: Uint8Array;
}

type PartName = "vectors" | "lo" | "step" | "invNorms" | "positions" | "idOffsets" | "rowOffsets" | "codes" | "missing";
type PartType = "f32" | "f64" | "u32" | "u8";
const SIZE: Record<PartType, number> = { f32: 4, f64: 8, u32: 4, u8: 1 };

/** The fixed-width parts of a cluster of `count` rows, in order, with their element counts. */
function partsOf(shape: ClusterShape, count: number): [PartName, PartType, number][] {
  const vectors = shape.stride > 0;
  const parts: [PartName, PartType, number][] = [];
  if (vectors && shape.codes) parts.push(["lo", "f32", shape.stride], ["step", "f32", shape.stride]);
  if (vectors && !shape.codes) parts.push(["vectors", "f32", count * shape.stride]);
  if (vectors) parts.push(["invNorms", "f64", count]);
  if (shape.positions) parts.push(["positions", "u32", count]);
  parts.push(["idOffsets", "u32", count + 1]);
  if (shape.rows) parts.push(["rowOffsets", "u32", count + 1]);
  if (vectors && shape.codes) parts.push(["codes", "u8", count * shape.stride]);
  if (vectors) parts.push(["missing", "u8", count]);
  return parts;
}

/** Encoded size of a cluster of `count` rows whose ids take `idBytes` bytes. */
export function clusterBytes(shape: ClusterShape, count: number, idBytes: number): number {
  return align8(fixedBytes(shape, count) + idBytes);
}

/** Offset inside a cluster of `count` rows of its last id offset, which is the id bytes' length. */
export function clusterIdLengthOffset(shape: ClusterShape, count: number): number {
  let at = 0;
  for (const [name, type, length] of partsOf(shape, count)) {
    if (name === "idOffsets") return at + count * 4;
    at += length * SIZE[type];
  }
  throw new Error("unreachable: a cluster always has id offsets");
}

/** Bytes of the fixed-width parts (everything before the id bytes). */
function fixedBytes(shape: ClusterShape, count: number): number {
  let at = 0;
  for (const [, type, length] of partsOf(shape, count)) at += length * SIZE[type];
  return at;
}

/** Writes one cluster into `out` (exactly clusterBytes long). */
export function writeCluster(out: Uint8Array, shape: ClusterShape, rows: ClusterRows): void {
  const buffer = out.buffer;
  let at = out.byteOffset;
  for (const [name, type, length] of partsOf(shape, rows.count)) {
    const bytes = length * SIZE[type];
    const source = rows[name];
    if (source !== null) new Uint8Array(buffer, at, bytes).set(new Uint8Array(source.buffer, source.byteOffset, bytes));
    at += bytes;
  }
  new Uint8Array(buffer, at, rows.idBytes.byteLength).set(rows.idBytes);
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
  const views: Partial<Record<PartName, ArrayBufferView>> = {};
  for (const [name, type, length] of partsOf(shape, count)) {
    views[name] =
      type === "f32"
        ? new Float32Array(buffer, at, length)
        : type === "f64"
          ? new Float64Array(buffer, at, length)
          : type === "u32"
            ? new Uint32Array(buffer, at, length)
            : new Uint8Array(buffer, at, length);
    at += length * SIZE[type];
  }
  const idOffsets = views.idOffsets as Uint32Array;
  const rowOffsets = (views.rowOffsets ?? null) as Uint32Array | null;
  if (idOffsets[0] !== 0) return "cluster id offsets do not start at 0";
  for (let i = 1; i <= count; i++) if (idOffsets[i]! < idOffsets[i - 1]!) return "cluster id offsets are not monotone";
  const idLength = idOffsets[count]!;
  if (bytes.byteLength !== align8(fixed + idLength)) return `cluster has ${bytes.byteLength} bytes, its parts ${align8(fixed + idLength)}`;
  const idBytes = new Uint8Array(buffer, at, idLength);
  if (rowOffsets !== null) for (let i = 1; i <= count; i++) if (rowOffsets[i]! < rowOffsets[i - 1]!) return "cluster row offsets are not monotone";
  const step = (views.step ?? null) as Float32Array | null;
  if (step !== null) for (let d = 0; d < step.length; d++) if (!(step[d]! >= 0 && step[d]! < Number.POSITIVE_INFINITY)) return "cluster code steps are not finite";
  const lo = (views.lo ?? null) as Float32Array | null;
  if (lo !== null) for (let d = 0; d < lo.length; d++) if (!Number.isFinite(lo[d]!)) return "cluster code minimums are not finite";
  return {
    count,
    vectors: (views.vectors ?? null) as Float32Array | null,
    lo,
    step,
    codes: (views.codes ?? null) as Uint8Array | null,
    invNorms: (views.invNorms ?? null) as Float64Array | null,
    positions: (views.positions ?? null) as Uint32Array | null,
    idOffsets,
    rowOffsets,
    missing: (views.missing ?? null) as Uint8Array | null,
    idBytes,
  };
}

/**
 * Format 4: a cluster's 8-bit codes of `count` raw rows (`stride` floats
 * each; rows flagged in `missing` are all zero codes and do not widen the
 * range). Deterministic: the same rows always give the same bytes.
 */
export function quantizeCluster(
  raw: Float32Array,
  missing: Uint8Array | null,
  count: number,
  stride: number,
): { lo: Float32Array; step: Float32Array; codes: Uint8Array } {
  const lo = new Float32Array(stride);
  const hi = new Float32Array(stride);
  lo.fill(Number.POSITIVE_INFINITY);
  hi.fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < count; i++) {
    if (missing !== null && missing[i] !== 0) continue;
    const at = i * stride;
    for (let d = 0; d < stride; d++) {
      const v = raw[at + d]!;
      if (v < lo[d]!) lo[d] = v;
      if (v > hi[d]!) hi[d] = v;
    }
  }
  const step = new Float32Array(stride);
  for (let d = 0; d < stride; d++) {
    if (!(lo[d]! <= hi[d]!)) {
      // No row with a vector (or a non-finite value, rejected elsewhere): all codes 0.
      lo[d] = 0;
      continue;
    }
    step[d] = (hi[d]! - lo[d]!) / 255;
  }
  const codes = new Uint8Array(count * stride);
  for (let i = 0; i < count; i++) {
    if (missing !== null && missing[i] !== 0) continue;
    const at = i * stride;
    for (let d = 0; d < stride; d++) {
      const s = step[d]!;
      if (s === 0) continue;
      const c = Math.round((raw[at + d]! - lo[d]!) / s);
      codes[at + d] = Math.min(255, Math.max(0, c));
    }
  }
  return { lo, step, codes };
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
