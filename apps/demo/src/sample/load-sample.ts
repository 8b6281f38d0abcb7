/**
 * Creates the sample namespace with the sample dataset, on the first run
 * only. Resumable: batches carry idempotency keys and the namespace gets
 * the label `sample=loaded` last, so a run interrupted mid-load finishes
 * the load on the next start instead of skipping it.
 */
import { isNamespaceExists, type NamespaceEngine } from "@skerry/namespace-engine";
import { SAMPLE_NAMESPACE, sampleDocuments } from "./sample-dataset.ts";

const BATCH = 1_000;

export async function loadSampleDataset(
  engine: NamespaceEngine,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<"created" | "present"> {
  try {
    await engine.createNamespace(SAMPLE_NAMESPACE, { distanceMetric: "cosine", labels: { sample: "loading" } });
  } catch (error) {
    if (!isNamespaceExists(error)) throw error;
    const info = await engine.getNamespace(SAMPLE_NAMESPACE);
    if (info.labels["sample"] !== "loading") return "present";
  }
  const docs = sampleDocuments();
  for (let start = 0; start < docs.length; start += BATCH) {
    await engine.upsert(SAMPLE_NAMESPACE, docs.slice(start, start + BATCH), { idempotencyKey: `sample-dataset-${start}` });
    onProgress(Math.min(start + BATCH, docs.length), docs.length);
  }
  await engine.updateLabels(SAMPLE_NAMESPACE, { sample: "loaded" });
  return "created";
}
