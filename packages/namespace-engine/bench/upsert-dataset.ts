/** Writes the benchmark dataset (packages/query/bench/dataset.ts) into a namespace as upserts of 10,000 documents. */
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";

export async function upsertDataset(engine: NamespaceEngine, namespace: string, n: number, batchSize = 10_000): Promise<void> {
  let batch: DocumentInput[] = [];
  for (const doc of dataset(n).documents()) {
    batch.push(doc as DocumentInput);
    if (batch.length === batchSize) {
      await engine.upsert(namespace, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await engine.upsert(namespace, batch);
}
