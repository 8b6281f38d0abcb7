/**
 * A WebAssembly SIMD kernel for dense vector scoring, assembled at runtime
 * (no binary blob, no toolchain): the module is specialised for one vector
 * stride, so for strides up to 256 floats the inner product is fully
 * unrolled into f32x4 loads and multiply-adds over four accumulators.
 *
 * Exports (all arguments are byte offsets / counts in the imported shared
 * memory; `out` receives one f32 per vector):
 *   dot_range(q, base, strideBytes, _, count, out)    out[i] = q . v(base + i*stride)
 *   l2_range(q, base, strideBytes, _, count, out)     out[i] = |q - v|^2
 *   dot_gather(q, base, strideBytes, slots, count, out)  v = base + slots[i]*stride
 *   l2_gather(q, base, strideBytes, slots, count, out)
 *
 * The memory is a shared `WasmMemory`, so worker threads instantiate
 * the same module over the same bytes. `loadWasmKernel` returns null when the
 * runtime lacks SIMD or shared memory; callers then use the JS kernel.
 */

import { type WasmMemory, type WasmModule, wasmApi } from "./wasm-api.ts";

export interface WasmKernelExports {
  dot_range(q: number, base: number, strideBytes: number, slots: number, count: number, out: number): void;
  l2_range(q: number, base: number, strideBytes: number, slots: number, count: number, out: number): void;
  dot_gather(q: number, base: number, strideBytes: number, slots: number, count: number, out: number): void;
  l2_gather(q: number, base: number, strideBytes: number, slots: number, count: number, out: number): void;
}

const moduleCache = new Map<number, WasmModule | null>();

/** The compiled module for vectors of `stride` floats (a multiple of 4), or null if unsupported. */
export function wasmKernelModule(stride: number): WasmModule | null {
  const cached = moduleCache.get(stride);
  if (cached !== undefined) return cached;
  let mod: WasmModule | null = null;
  try {
    if (wasmApi !== undefined) mod = new wasmApi.Module(assembleKernel(stride / 4));
  } catch {
    mod = null;
  }
  moduleCache.set(stride, mod);
  return mod;
}

/** Instantiate the kernel over `memory` (shared), or null when unsupported. */
export function loadWasmKernel(memory: WasmMemory, stride: number): WasmKernelExports | null {
  if (process.env["SKERRY_QUERY_NO_WASM"] === "1") return null;
  const mod = wasmKernelModule(stride);
  if (mod === null) return null;
  try {
    const instance = new wasmApi!.Instance(mod, { env: { memory } });
    return instance.exports as unknown as WasmKernelExports;
  } catch {
    return null;
  }
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

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// opcodes
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const I32_LOAD = 0x28;
const F32_STORE = 0x38;
const F32_ADD = 0x92;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const SIMD = 0xfd;
const v128load = (offset: number) => [SIMD, 0x00, 0x00, ...uleb(offset)];
const F32X4_ADD = [SIMD, ...uleb(0xe4)];
const F32X4_SUB = [SIMD, ...uleb(0xe5)];
const F32X4_MUL = [SIMD, ...uleb(0xe6)];
const extractLane = (lane: number) => [SIMD, 0x1f, lane];
const V128_ZERO = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];

// params: 0 q, 1 base, 2 strideBytes, 3 slots, 4 count, 5 out
// locals: 6 i, 7 p (vector ptr), 8 qp, 9 vp, 10 j (i32); 11..14 acc, 15 tmp (v128)
const P_Q = 0;
const P_BASE = 1;
const P_STRIDE = 2;
const P_SLOTS = 3;
const P_COUNT = 4;
const P_OUT = 5;
const L_I = 6;
const L_P = 7;
const L_QP = 8;
const L_VP = 9;
const L_J = 10;
const L_ACC = 11;
const L_TMP = 15;
const BLOCK_GROUPS = 16;

function groupCode(l2: boolean, qLocal: number, vLocal: number, g: number, accIndex: number, first: boolean): number[] {
  const code = [LOCAL_GET, qLocal, ...v128load(16 * g), LOCAL_GET, vLocal, ...v128load(16 * g)];
  if (l2) code.push(...F32X4_SUB, LOCAL_TEE, L_TMP, LOCAL_GET, L_TMP, ...F32X4_MUL);
  else code.push(...F32X4_MUL);
  if (!first) code.push(LOCAL_GET, L_ACC + accIndex, ...F32X4_ADD);
  code.push(LOCAL_SET, L_ACC + accIndex);
  return code;
}

function functionBody(groups: number, l2: boolean, gather: boolean): number[] {
  const code: number[] = [];
  code.push(I32_CONST, ...sleb(0), LOCAL_SET, L_I);
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(LOCAL_GET, L_I, LOCAL_GET, P_COUNT, I32_GE_U, BR_IF, 1);
  if (gather) {
    code.push(LOCAL_GET, P_BASE, LOCAL_GET, P_SLOTS, LOCAL_GET, L_I, I32_CONST, 2, I32_SHL, I32_ADD, I32_LOAD, 2, 0);
    code.push(LOCAL_GET, P_STRIDE, I32_MUL, I32_ADD, LOCAL_SET, L_P);
  } else {
    code.push(LOCAL_GET, P_BASE, LOCAL_GET, L_I, LOCAL_GET, P_STRIDE, I32_MUL, I32_ADD, LOCAL_SET, L_P);
  }
  const accs = Math.min(4, groups);
  if (groups <= 64) {
    for (let g = 0; g < groups; g++) code.push(...groupCode(l2, P_Q, L_P, g, g % 4, g < 4));
  } else {
    // zero the accumulators, then blocks of 16 groups, then the tail
    for (let a = 0; a < 4; a++) code.push(...V128_ZERO, LOCAL_SET, L_ACC + a);
    const blocks = Math.floor(groups / BLOCK_GROUPS);
    code.push(LOCAL_GET, P_Q, LOCAL_SET, L_QP, LOCAL_GET, L_P, LOCAL_SET, L_VP, I32_CONST, ...sleb(0), LOCAL_SET, L_J);
    code.push(BLOCK, VOID, LOOP, VOID);
    code.push(LOCAL_GET, L_J, I32_CONST, ...sleb(blocks), I32_GE_U, BR_IF, 1);
    for (let g = 0; g < BLOCK_GROUPS; g++) code.push(...groupCode(l2, L_QP, L_VP, g, g % 4, false));
    code.push(LOCAL_GET, L_QP, I32_CONST, ...sleb(16 * BLOCK_GROUPS), I32_ADD, LOCAL_SET, L_QP);
    code.push(LOCAL_GET, L_VP, I32_CONST, ...sleb(16 * BLOCK_GROUPS), I32_ADD, LOCAL_SET, L_VP);
    code.push(LOCAL_GET, L_J, I32_CONST, 1, I32_ADD, LOCAL_SET, L_J, BR, 0, END, END);
    for (let g = 0; g < groups - blocks * BLOCK_GROUPS; g++) code.push(...groupCode(l2, L_QP, L_VP, g, g % 4, false));
  }
  // acc0 = (acc0 + acc1) + (acc2 + acc3)
  if (accs >= 2) code.push(LOCAL_GET, L_ACC, LOCAL_GET, L_ACC + 1, ...F32X4_ADD, LOCAL_SET, L_ACC);
  if (accs >= 4) code.push(LOCAL_GET, L_ACC + 2, LOCAL_GET, L_ACC + 3, ...F32X4_ADD, LOCAL_GET, L_ACC, ...F32X4_ADD, LOCAL_SET, L_ACC);
  else if (accs === 3) code.push(LOCAL_GET, L_ACC + 2, LOCAL_GET, L_ACC, ...F32X4_ADD, LOCAL_SET, L_ACC);
  // out[i] = (l0 + l1) + (l2 + l3)
  code.push(LOCAL_GET, P_OUT, LOCAL_GET, L_I, I32_CONST, 2, I32_SHL, I32_ADD);
  code.push(LOCAL_GET, L_ACC, ...extractLane(0), LOCAL_GET, L_ACC, ...extractLane(1), F32_ADD);
  code.push(LOCAL_GET, L_ACC, ...extractLane(2), LOCAL_GET, L_ACC, ...extractLane(3), F32_ADD, F32_ADD);
  code.push(F32_STORE, 2, 0);
  code.push(LOCAL_GET, L_I, I32_CONST, 1, I32_ADD, LOCAL_SET, L_I, BR, 0, END, END);
  code.push(END);
  // locals: 5 x i32, 5 x v128
  const locals = [2, 5, 0x7f, 5, 0x7b];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The kernel module bytes for vectors of `groups` f32x4 lanes. */
export function assembleKernel(groups: number): Uint8Array {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`bad group count ${groups}`);
  const type = [0x60, 6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0];
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, [1, ...type]));
  // import env.memory: shared, min 1, max 65536 pages
  bytes.push(...section(2, [1, ...str("env"), ...str("memory"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]));
  bytes.push(...section(3, [4, 0, 0, 0, 0]));
  const names = ["dot_range", "l2_range", "dot_gather", "l2_gather"];
  const exports: number[] = [names.length];
  for (let i = 0; i < names.length; i++) exports.push(...str(names[i]!), 0x00, i);
  bytes.push(...section(7, exports));
  const bodies = [
    functionBody(groups, false, false),
    functionBody(groups, true, false),
    functionBody(groups, false, true),
    functionBody(groups, true, true),
  ];
  bytes.push(...section(10, [bodies.length, ...bodies.flat()]));
  return new Uint8Array(bytes);
}
