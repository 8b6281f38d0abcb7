/**
 * The slice of the WebAssembly JS API this module uses, typed locally: the
 * project's TypeScript config has no DOM lib and @types/node 20 does not
 * declare the `WebAssembly` global.
 */

export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}

export interface WasmModule {
  readonly __wasmModule?: never;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}

/** The runtime's WebAssembly API, or undefined where there is none. */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
