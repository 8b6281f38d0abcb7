/**
 * CodeKernel: the first pass of a cold ANN query over format-4 clusters
 * (cluster-layout.ts): for each row of 8-bit codes c (`stride` bytes),
 * sum over d of w[d] * c[d], where w = q * step is the query weighted by the
 * cluster's per-dimension step. A WebAssembly SIMD module assembled at
 * runtime (like wasm-kernel.ts), specialised for one stride up to 256: per
 * 8 dimensions one `v128.load8x8_u`, widened to two f32x4 and multiplied
 * into two accumulators; rows longer than 256, or runtimes without SIMD,
 * use the same sums in JavaScript (float64). The sums are approximate
 * scores (the codes are), so float32 accumulation is enough; they are
 * deterministic for a given runtime path.
 *
 * One kernel (and its memory, grown as needed) is kept per stride: a first
 * pass is synchronous, so queries take turns.
 */
import { type WasmModule, wasmApi } from "./wasm-api.ts";

const PAGE = 65536;
const MAX_WASM_STRIDE = 256;

interface CodeDotExports {
  /** out[i] = sum_d w[d] * codes[i * stride + d] for i < count (byte offsets; out f32). */
  code_dot(w: number, codes: number, count: number, out: number): void;
}

export class CodeKernel {
  readonly #stride: number;
  #exports: CodeDotExports | null = null;
  #f32: Float32Array | null = null;
  #u8: Uint8Array | null = null;
  #bytes = 0;
  readonly #module: WasmModule | null;

  constructor(stride: number) {
    this.#stride = stride;
    this.#module = process.env["SKERRY_QUERY_NO_WASM"] === "1" ? null : codeModule(stride);
  }

  /** True when the WebAssembly path is used. */
  get wasm(): boolean {
    return this.#module !== null;
  }

  /**
   * The sums of `count` rows of `codes` (count x stride bytes) weighted by
   * `w` (stride values): `out` (at least count long) on the JavaScript
   * path, else a view of the kernel's memory, valid until the next call.
   */
  dots(w: Float64Array, codes: Uint8Array, count: number, out: Float64Array): Float64Array | Float32Array {
    const stride = this.#stride;
    if (this.#module === null) {
      for (let r = 0; r < count; r++) {
        const at = r * stride;
        let dot = 0;
        for (let d = 0; d < stride; d += 4) {
          dot += w[d]! * codes[at + d]! + w[d + 1]! * codes[at + d + 1]! + w[d + 2]! * codes[at + d + 2]! + w[d + 3]! * codes[at + d + 3]!;
        }
        out[r] = dot;
      }
      return out;
    }
    // Layout: w (stride f32) | codes (count x stride, + 8 bytes of slack for the last 8-byte load) | out (count f32).
    const wAt = 0;
    const codesAt = stride * 4;
    const outAt = align16(codesAt + count * stride + 8);
    const exports = this.#ensure(outAt + count * 4);
    const f32 = this.#f32 as Float32Array;
    for (let d = 0; d < stride; d++) f32[(wAt >> 2) + d] = w[d]!;
    (this.#u8 as Uint8Array).set(codes.subarray(0, count * stride), codesAt);
    exports.code_dot(wAt, codesAt, count, outAt);
    return f32.subarray(outAt >> 2, (outAt >> 2) + count);
  }

  #ensure(bytes: number): CodeDotExports {
    if (this.#exports !== null && bytes <= this.#bytes) return this.#exports;
    const pages = Math.ceil(Math.max(bytes, this.#bytes * 2) / PAGE);
    const api = wasmApi as NonNullable<typeof wasmApi>;
    const memory = new api.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new api.Instance(this.#module as WasmModule, { env: { memory } });
    this.#f32 = new Float32Array(memory.buffer);
    this.#u8 = new Uint8Array(memory.buffer);
    this.#exports = instance.exports as unknown as CodeDotExports;
    this.#bytes = pages * PAGE;
    return this.#exports;
  }
}

const kernels = new Map<number, CodeKernel>();

/** The kept kernel for rows of `stride` codes. */
export function codeKernel(stride: number): CodeKernel {
  let kernel = kernels.get(stride);
  if (kernel === undefined) kernels.set(stride, (kernel = new CodeKernel(stride)));
  return kernel;
}

const modules = new Map<number, WasmModule | null>();

function codeModule(stride: number): WasmModule | null {
  if (stride % 4 !== 0 || stride > MAX_WASM_STRIDE || wasmApi === undefined) return null;
  const cached = modules.get(stride);
  if (cached !== undefined) return cached;
  let mod: WasmModule | null = null;
  try {
    mod = new wasmApi.Module(assembleCodeKernel(stride));
  } catch {
    mod = null;
  }
  modules.set(stride, mod);
  return mod;
}

// ------------------------------------------------------------ assembler

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const F32_STORE = 0x38;
const F32_ADD = 0x92;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const SIMD = 0xfd;
const v128load = (offset: number) => [SIMD, 0x00, 0x04, ...uleb(offset)];
const v128load8x8u = (offset: number) => [SIMD, 0x02, 0x03, ...uleb(offset)];
const I32X4_EXTEND_LOW_I16X8_U = [SIMD, ...uleb(0xa9)];
const I32X4_EXTEND_HIGH_I16X8_U = [SIMD, ...uleb(0xaa)];
const F32X4_CONVERT_I32X4_U = [SIMD, ...uleb(0xfb)];
const F32X4_ADD = [SIMD, ...uleb(0xe4)];
const F32X4_MUL = [SIMD, ...uleb(0xe6)];
const extractLane = (lane: number) => [SIMD, 0x1f, lane];
const V128_ZERO = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];

// params: 0 w, 1 codes, 2 count, 3 out; locals: 4 i, 5 p (row pointer) (i32); 6 acc0, 7 acc1, 8 raw (v128)
const P_W = 0;
const P_CODES = 1;
const P_COUNT = 2;
const P_OUT = 3;
const L_I = 4;
const L_P = 5;
const L_ACC0 = 6;
const L_ACC1 = 7;
const L_RAW = 8;

/** The module bytes for rows of `stride` codes (a multiple of 4, at most 256). */
export function assembleCodeKernel(stride: number): Uint8Array {
  const code: number[] = [];
  code.push(I32_CONST, 0, LOCAL_SET, L_I);
  code.push(LOCAL_GET, P_CODES, LOCAL_SET, L_P);
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(LOCAL_GET, L_I, LOCAL_GET, P_COUNT, I32_GE_U, BR_IF, 1);
  code.push(...V128_ZERO, LOCAL_SET, L_ACC0, ...V128_ZERO, LOCAL_SET, L_ACC1);
  for (let d = 0; d < stride; d += 8) {
    // 8 codes widened to u16 (a stride of 4 mod 8 reads 4 bytes past the row: the caller leaves slack, the high half is unused)
    code.push(LOCAL_GET, L_P, ...v128load8x8u(d), LOCAL_SET, L_RAW);
    code.push(LOCAL_GET, L_RAW, ...I32X4_EXTEND_LOW_I16X8_U, ...F32X4_CONVERT_I32X4_U);
    code.push(LOCAL_GET, P_W, ...v128load(d * 4), ...F32X4_MUL, LOCAL_GET, L_ACC0, ...F32X4_ADD, LOCAL_SET, L_ACC0);
    if (d + 4 < stride) {
      code.push(LOCAL_GET, L_RAW, ...I32X4_EXTEND_HIGH_I16X8_U, ...F32X4_CONVERT_I32X4_U);
      code.push(LOCAL_GET, P_W, ...v128load(d * 4 + 16), ...F32X4_MUL, LOCAL_GET, L_ACC1, ...F32X4_ADD, LOCAL_SET, L_ACC1);
    }
  }
  code.push(LOCAL_GET, L_ACC0, LOCAL_GET, L_ACC1, ...F32X4_ADD, LOCAL_SET, L_ACC0);
  // out[i] = (l0 + l1) + (l2 + l3)
  code.push(LOCAL_GET, P_OUT, LOCAL_GET, L_I, I32_CONST, 2, I32_SHL, I32_ADD);
  code.push(LOCAL_GET, L_ACC0, ...extractLane(0), LOCAL_GET, L_ACC0, ...extractLane(1), F32_ADD);
  code.push(LOCAL_GET, L_ACC0, ...extractLane(2), LOCAL_GET, L_ACC0, ...extractLane(3), F32_ADD, F32_ADD);
  code.push(F32_STORE, 2, 0);
  code.push(LOCAL_GET, L_P, I32_CONST, ...sleb(stride), I32_ADD, LOCAL_SET, L_P);
  code.push(LOCAL_GET, L_I, I32_CONST, 1, I32_ADD, LOCAL_SET, L_I, BR, 0, END, END);
  code.push(END);
  const locals = [2, 2, 0x7f, 3, 0x7b];
  const body = [...locals, ...code];
  const fn = [...uleb(body.length), ...body];
  const type = [0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0];
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, [1, ...type]));
  bytes.push(...section(2, [1, ...str("env"), ...str("memory"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]));
  bytes.push(...section(3, [1, 0]));
  bytes.push(...section(7, [1, ...str("code_dot"), 0x00, 0]));
  bytes.push(...section(10, [1, ...fn]));
  return new Uint8Array(bytes);
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}
