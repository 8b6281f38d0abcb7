/**
 * Worker thread body for parallel exact vector scans. It receives each
 * partition's shared vector memory once ("register"), then answers "scan"
 * tasks (a row range, a query, k, an optional shared skip mask) with the
 * range's top-k candidates, computed by the same kernel code the main
 * thread uses, so results do not depend on where a range was scanned.
 *
 * Imports only sibling files, so it runs from TypeScript sources (under a
 * loader) and from the compiled JavaScript alike.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type ScoreMode, topOfRange, type VectorLayout, VectorKernel } from "./vector-kernel.ts";
import type { WasmMemory } from "./wasm-api.ts";

export type WorkerRequest =
  | { readonly type: "register"; readonly uid: number; readonly memory: WasmMemory; readonly layout: VectorLayout }
  | { readonly type: "release"; readonly uid: number }
  | {
      readonly type: "scan";
      readonly task: number;
      readonly uid: number;
      readonly mode: ScoreMode;
      readonly query: Float32Array;
      readonly start: number;
      readonly end: number;
      readonly k: number;
      readonly skip: Uint8Array | null;
    };

export type WorkerResponse =
  | { readonly type: "done"; readonly task: number; readonly slots: Uint32Array; readonly scores: Float64Array }
  | { readonly type: "failed"; readonly task: number; readonly message: string };

const thread = (workerData as { thread: number } | null)?.thread ?? 1;
const kernels = new Map<number, VectorKernel>();

parentPort?.on("message", (message: WorkerRequest) => {
  switch (message.type) {
    case "register":
      kernels.set(message.uid, new VectorKernel(message.memory, message.layout));
      return;
    case "release":
      kernels.delete(message.uid);
      return;
    case "scan": {
      const kernel = kernels.get(message.uid);
      if (kernel === undefined) {
        parentPort!.postMessage({ type: "failed", task: message.task, message: `partition ${message.uid} not registered` });
        return;
      }
      try {
        const { slots, scores } = topOfRange(kernel, thread, message.mode, message.query, message.start, message.end, message.k, message.skip);
        const response: WorkerResponse = { type: "done", task: message.task, slots, scores };
        parentPort!.postMessage(response, [slots.buffer as ArrayBuffer, scores.buffer as ArrayBuffer]);
      } catch (error) {
        parentPort!.postMessage({ type: "failed", task: message.task, message: String(error) });
      }
    }
  }
});
