/**
 * What a fleet did, read from where it is recorded for every node at once:
 * the compaction intents in the bucket (each compaction of any node creates
 * one, create-only, and settles it COMMITTED or ABANDONED: an ABANDONED one
 * is work a conditional write fenced off and threw away), and each node's
 * counters (GET /v1/stats: manifest races lost, commits).
 */
import { NotFoundError, S3Storage } from "@skerry/storage-providers";
import { decodeCompactionIntent } from "@skerry/wal-format";
import { call } from "./fleet.ts";

export interface CompactionTally {
  committed: number;
  abandoned: number;
  /** Not settled yet: running, or left by a killed node until recovery finishes it. */
  pending: number;
}

/** The compaction intents under the fleet's prefix, by state. */
export async function tallyCompactions(prefix: string): Promise<CompactionTally> {
  const storage = S3Storage.fromEnv(process.env, { prefix });
  const tally: CompactionTally = { committed: 0, abandoned: 0, pending: 0 };
  try {
    for await (const meta of storage.list("")) {
      if (!/\/compactions\/[^/]+\.json$/.test(meta.key)) continue;
      let bytes: Uint8Array;
      try {
        ({ bytes } = await storage.get(meta.key));
      } catch (error) {
        if (error instanceof NotFoundError) continue; // collected since the listing
        throw error;
      }
      const intent = decodeCompactionIntent(bytes);
      if (intent.state === "COMMITTED") tally.committed++;
      else if (intent.state === "ABANDONED") tally.abandoned++;
      else tally.pending++;
    }
  } finally {
    storage.close();
  }
  return tally;
}

export interface NodeCounters {
  commits: number;
  racesLost: number;
  writesCommitted: number;
}

/** /v1/stats of each node, straight (not through the balancer); a dead node counts zeros. */
export async function nodeCounters(nodeUrls: readonly string[], key: string): Promise<NodeCounters[]> {
  return Promise.all(
    nodeUrls.map(async (url) => {
      const res = await call(url, key, "GET", "/v1/stats");
      const w = res.status === 200 ? res.body.writes : {};
      return { commits: Number(w.commits ?? 0), racesLost: Number(w.racesLost ?? 0), writesCommitted: Number(w.writesCommitted ?? 0) };
    }),
  );
}

/** Deletes everything under the prefix (the fleet's data in the shared bucket). */
export async function removePrefix(prefix: string): Promise<void> {
  const storage = S3Storage.fromEnv(process.env, { prefix });
  try {
    const keys: string[] = [];
    for await (const meta of storage.list("")) keys.push(meta.key);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => storage.delete(k)));
  } finally {
    storage.close();
  }
}
