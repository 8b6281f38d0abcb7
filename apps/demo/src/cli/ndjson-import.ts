/**
 * Writing documents from an NDJSON file: one JSON document per line
 * (blank lines skipped), sent in batches through `upsert`, `patch` or
 * `delete` (a delete line is `{"id": "..."}` or a JSON string). Each batch
 * carries an idempotency key derived from its content, so re-running an
 * interrupted import never applies a committed batch twice. Progress is
 * reported by bytes read.
 *
 * Errors: CliError naming the line of a line that is not JSON or not an
 * object with an id; engine errors name the batch's first line.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { CliError } from "./cli-storage.ts";

export type ImportOp = "upsert" | "patch" | "delete";

export interface ImportResult {
  documents: number;
  batches: number;
  deduplicatedBatches: number;
  firstVersion: number | undefined;
  lastVersion: number | undefined;
  ms: number;
}

export async function importNdjson(
  engine: NamespaceEngine,
  path: string,
  file: string,
  options: { op: ImportOp; batch: number; onProgress?: (bytesRead: number, totalBytes: number, documents: number) => void },
): Promise<ImportResult> {
  const started = Date.now();
  let total: number;
  try {
    total = (await stat(file)).size;
  } catch {
    throw new CliError(`cannot read ${file}`, "check the path given to --file");
  }
  const result: ImportResult = { documents: 0, batches: 0, deduplicatedBatches: 0, firstVersion: undefined, lastVersion: undefined, ms: 0 };
  let items: unknown[] = [];
  let hash = createHash("sha256");
  let batchFirstLine = 1;
  let bytesRead = 0;
  let lineNo = 0;

  const flush = async () => {
    if (items.length === 0) return;
    const idempotencyKey = `ndjson-${options.op}-${hash.digest("hex").slice(0, 40)}`;
    let written: { version: number; deduplicated: boolean };
    try {
      if (options.op === "upsert") written = await engine.upsert(path, items as never, { idempotencyKey });
      else if (options.op === "patch") written = await engine.patch(path, items as never, { idempotencyKey });
      else written = await engine.delete(path, items as string[], { idempotencyKey });
    } catch (error) {
      if (error instanceof Error) error.message = `batch starting at line ${batchFirstLine}: ${error.message}`;
      throw error;
    }
    result.documents += items.length;
    result.batches++;
    if (written.deduplicated) result.deduplicatedBatches++;
    result.firstVersion ??= written.version;
    result.lastVersion = written.version;
    items = [];
    hash = createHash("sha256");
    batchFirstLine = lineNo + 1;
    options.onProgress?.(bytesRead, total, result.documents);
  };

  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lineNo++;
    bytesRead += Buffer.byteLength(line) + 1;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new CliError(`${file}:${lineNo} is not valid JSON (${(error as Error).message})`, "each line must hold one JSON document");
    }
    if (options.op === "delete") {
      const id = typeof value === "string" ? value : (value as { id?: unknown } | null)?.id;
      if (typeof id !== "string") throw new CliError(`${file}:${lineNo} has no string id`, 'a delete line is "id" or {"id": "..."}');
      value = id;
    } else if (typeof value !== "object" || value === null || Array.isArray(value) || typeof (value as { id?: unknown }).id !== "string") {
      throw new CliError(`${file}:${lineNo} is not a document with a string "id"`, 'each line must look like {"id": "a", "vector": [...], "attributes": {...}}');
    }
    items.push(value);
    hash.update(line).update("\n");
    if (items.length >= options.batch) await flush();
  }
  await flush();
  options.onProgress?.(total, total, result.documents);
  result.ms = Date.now() - started;
  return result;
}
