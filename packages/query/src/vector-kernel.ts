/**
 * Dense vector storage and the scoring kernels that scan it.
 *
 * A partition's vectors live in ONE shared `WasmMemory`: the raw
 * vectors (row-major, `stride` floats per row: the dimension rounded up to a
 * multiple of 4, zero padded), the pre-normalized copy for cosine, 1/|v| per
 * row, IVF centroids, the "no vector" mask, and per-thread scratch (query,
 * output scores, gathered slot numbers). Worker threads get the same Memory,
 * so nothing is copied per query.
 *
 * Scores are "higher is better" everywhere inside the module:
 *   dot     q . v                    (DOT)
 *   cos     q^ . v^ via the normalized copy  (COSINE index, cosine query)
 *   cosraw  (q^ . v) / |v|            (cosine query on a non-cosine index)
 *   l2      -|q - v|^2               (EUCLIDEAN)
 *
 * `VectorKernel` computes a chunk of raw products with the WebAssembly SIMD
 * kernel when available, else with a JS loop over the same memory; `scanRange`
 * and `scanGather` feed a TopK, skipping masked slots (no vector, dead,
 * filtered out) only for candidates that beat the current threshold.
 */
import { TopK } from "./top-k.ts";
import { type WasmMemory, wasmApi } from "./wasm-api.ts";
import { loadWasmKernel, type WasmKernelExports } from "./wasm-kernel.ts";
import type { DistanceMetric } from "./query-document.ts";

export type ScoreMode = "dot" | "cos" | "cosraw" | "l2";

/**
 * The score mode for ranking by `metric` over vectors of an index built for
 * `indexMetric`; `normalized`: the index holds the normalized copy (COSINE
 * then scores against it, else divides by the stored 1/|v|).
 */
export function scoreModeOf(metric: DistanceMetric, indexMetric: DistanceMetric, normalized: boolean): ScoreMode {
  if (metric === "DOT") return "dot";
  if (metric === "EUCLIDEAN") return "l2";
  return normalized && indexMetric === "COSINE" ? "cos" : "cosraw";
}

/** Rows scored per kernel call. */
export const CHUNK = 4096;
/** Scratch areas: one for the calling thread, one per worker thread. */
export const SCRATCH_THREADS = 9;
const PAGE = 65536;
const MAX_PAGES = 65536;

export interface VectorLayout {
  readonly count: number;
  readonly dimension: number;
  readonly stride: number;
  /** Byte offsets into the memory; -1 when absent. */
  readonly vectorsPtr: number;
  readonly normalizedPtr: number;
  readonly invNormsPtr: number;
  readonly missingPtr: number;
  readonly centroidsPtr: number;
  readonly centroidCapacity: number;
  readonly scratchPtr: number;
  readonly scratchBytes: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

export function strideOf(dimension: number): number {
  return Math.ceil(dimension / 4) * 4;
}

/** Plan the memory for `count` rows and allocate it. Throws RangeError above 4 GiB. */
export function allocateVectorMemory(
  count: number,
  dimension: number,
  options: { normalized: boolean; centroidCapacity: number },
): { memory: WasmMemory; layout: VectorLayout } {
  const stride = strideOf(dimension);
  const rowBytes = stride * 4;
  let at = 64;
  const vectorsPtr = at;
  at = align16(at + count * rowBytes);
  const normalizedPtr = options.normalized ? at : -1;
  if (options.normalized) at = align16(at + count * rowBytes);
  const invNormsPtr = at;
  at = align16(at + count * 4);
  const missingPtr = at;
  at = align16(at + count);
  const centroidsPtr = at;
  at = align16(at + options.centroidCapacity * rowBytes);
  const scratchBytes = align16(rowBytes + CHUNK * 8);
  const scratchPtr = at;
  at += scratchBytes * SCRATCH_THREADS;
  const pages = Math.ceil(at / PAGE);
  if (pages > MAX_PAGES) {
    throw new RangeError(`vector data of ${count} x ${dimension} needs ${at} bytes, over the 4 GiB a partition may hold`);
  }
  if (wasmApi === undefined) throw new RangeError("this runtime has no WebAssembly.Memory");
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  return {
    memory,
    layout: {
      count,
      dimension,
      stride,
      vectorsPtr,
      normalizedPtr,
      invNormsPtr,
      missingPtr,
      centroidsPtr,
      centroidCapacity: options.centroidCapacity,
      scratchPtr,
      scratchBytes,
    },
  };
}

export class VectorKernel {
  readonly f32: Float32Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  readonly wasm: WasmKernelExports | null;
  readonly strideBytes: number;

  constructor(
    readonly memory: WasmMemory,
    readonly layout: VectorLayout,
    options: { wasm?: boolean } = {},
  ) {
    this.f32 = new Float32Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.wasm = options.wasm === false ? null : loadWasmKernel(memory, layout.stride);
    this.strideBytes = layout.stride * 4;
  }

  /** A thread's scratch: byte offsets of its query, output and slot areas. */
  scratch(thread: number): { q: number; out: number; slots: number } {
    const base = this.layout.scratchPtr + thread * this.layout.scratchBytes;
    const q = base;
    const out = base + this.strideBytes;
    return { q, out, slots: out + CHUNK * 4 };
  }

  /** Raw products (dot or squared L2) of q against `count` consecutive rows from `base`. */
  range(l2: boolean, q: number, base: number, count: number, out: number): void {
    if (this.wasm !== null) {
      if (l2) this.wasm.l2_range(q, base, this.strideBytes, 0, count, out);
      else this.wasm.dot_range(q, base, this.strideBytes, 0, count, out);
      return;
    }
    const f = this.f32;
    const stride = this.layout.stride;
    const q0 = q >> 2;
    let row = base >> 2;
    const o = out >> 2;
    for (let i = 0; i < count; i++, row += stride) f[o + i] = l2 ? jsL2(f, q0, row, stride) : jsDot(f, q0, row, stride);
  }

  /** Raw products of q against the rows named by `count` u32 slots at `slots`. */
  gather(l2: boolean, q: number, base: number, slots: number, count: number, out: number): void {
    if (this.wasm !== null) {
      if (l2) this.wasm.l2_gather(q, base, this.strideBytes, slots, count, out);
      else this.wasm.dot_gather(q, base, this.strideBytes, slots, count, out);
      return;
    }
    const f = this.f32;
    const u = this.u32;
    const stride = this.layout.stride;
    const q0 = q >> 2;
    const o = out >> 2;
    const s0 = slots >> 2;
    for (let i = 0; i < count; i++) {
      const row = (base >> 2) + u[s0 + i]! * stride;
      f[o + i] = l2 ? jsL2(f, q0, row, stride) : jsDot(f, q0, row, stride);
    }
  }

  /** Byte offset of the row data a mode scans. */
  baseFor(mode: ScoreMode): number {
    return mode === "cos" ? this.layout.normalizedPtr : this.layout.vectorsPtr;
  }
}

function jsDot(f: Float32Array, q: number, v: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < n; d += 4) {
    s0 += f[q + d]! * f[v + d]!;
    s1 += f[q + d + 1]! * f[v + d + 1]!;
    s2 += f[q + d + 2]! * f[v + d + 2]!;
    s3 += f[q + d + 3]! * f[v + d + 3]!;
  }
  return s0 + s1 + (s2 + s3);
}

function jsL2(f: Float32Array, q: number, v: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  for (let d = 0; d < n; d += 2) {
    const a = f[q + d]! - f[v + d]!;
    const b = f[q + d + 1]! - f[v + d + 1]!;
    s0 += a * a;
    s1 += b * b;
  }
  return s0 + s1;
}

/** Put the (already prepared) query into a thread's scratch; returns its byte offset. */
export function loadQuery(kernel: VectorKernel, thread: number, query: Float32Array): number {
  const { q } = kernel.scratch(thread);
  kernel.f32.fill(0, q >> 2, (q >> 2) + kernel.layout.stride);
  kernel.f32.set(query.subarray(0, kernel.layout.stride), q >> 2);
  return q;
}

/**
 * Score rows [start, end) and push them into `top`, skipping rows whose
 * `skip` byte is non-zero (and rows without a vector).
 */
export function scanRange(
  kernel: VectorKernel,
  thread: number,
  mode: ScoreMode,
  query: Float32Array,
  start: number,
  end: number,
  top: TopK,
  skip: Uint8Array | null,
): void {
  const { out } = kernel.scratch(thread);
  const q = loadQuery(kernel, thread, query);
  const base = kernel.baseFor(mode);
  const l2 = mode === "l2";
  const f = kernel.f32;
  const missing = kernel.u8;
  const missingPtr = kernel.layout.missingPtr;
  const invNorm = kernel.layout.invNormsPtr >> 2;
  const o = out >> 2;
  for (let c = start; c < end; c += CHUNK) {
    const count = Math.min(CHUNK, end - c);
    kernel.range(l2, q, base + c * kernel.strideBytes, count, out);
    for (let i = 0; i < count; i++) {
      let s = f[o + i]!;
      if (l2) s = -s;
      else if (mode === "cosraw") s *= f[invNorm + c + i]!;
      if (!top.accepts(s)) continue;
      const slot = c + i;
      if (missing[missingPtr + slot] !== 0 || (skip !== null && skip[slot] !== 0)) continue;
      top.push(s, slot);
    }
  }
}

/** Score the listed rows (e.g. a selective filter's matches) into `top`. */
export function scanGather(
  kernel: VectorKernel,
  thread: number,
  mode: ScoreMode,
  query: Float32Array,
  slots: Uint32Array,
  top: TopK,
  skip: Uint8Array | null,
): void {
  const { out, slots: slotsPtr } = kernel.scratch(thread);
  const q = loadQuery(kernel, thread, query);
  const base = kernel.baseFor(mode);
  const l2 = mode === "l2";
  const f = kernel.f32;
  const missing = kernel.u8;
  const missingPtr = kernel.layout.missingPtr;
  const invNorm = kernel.layout.invNormsPtr >> 2;
  const o = out >> 2;
  for (let c = 0; c < slots.length; c += CHUNK) {
    const count = Math.min(CHUNK, slots.length - c);
    const part = slots.subarray(c, c + count);
    kernel.u32.set(part, slotsPtr >> 2);
    kernel.gather(l2, q, base, slotsPtr, count, out);
    for (let i = 0; i < count; i++) {
      const slot = part[i]!;
      let s = f[o + i]!;
      if (l2) s = -s;
      else if (mode === "cosraw") s *= f[invNorm + slot]!;
      if (!top.accepts(s)) continue;
      if (missing[missingPtr + slot] !== 0 || (skip !== null && skip[slot] !== 0)) continue;
      top.push(s, slot);
    }
  }
}

/** Exact top-k of one range as plain arrays (what a worker sends back). */
export function topOfRange(
  kernel: VectorKernel,
  thread: number,
  mode: ScoreMode,
  query: Float32Array,
  start: number,
  end: number,
  k: number,
  skip: Uint8Array | null,
): { slots: Uint32Array; scores: Float64Array } {
  const top = new TopK(k);
  scanRange(kernel, thread, mode, query, start, end, top, skip);
  return top.drain();
}

/** The query vector as the kernel scans it: padded to the stride, unit length for COSINE (the same bits wherever it is made). */
export function prepareQueryVector(vector: Float32Array, metric: DistanceMetric, stride: number): Float32Array {
  const q = new Float32Array(stride);
  q.set(vector);
  if (metric === "COSINE") {
    let sum = 0;
    for (let d = 0; d < vector.length; d++) sum += vector[d]! * vector[d]!;
    const inv = 1 / Math.sqrt(sum);
    for (let d = 0; d < vector.length; d++) q[d] = vector[d]! * inv;
  }
  return q;
}
