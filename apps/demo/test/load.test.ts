/**
 * A bounded load test on loopback: 32 concurrent clients (4 project keys x
 * 8) writing and querying one local-fs namespace for at most ~8 s or 60
 * operations each. Every acknowledged write must be readable at the end
 * (zero lost acknowledged writes); the error rate and latency percentiles
 * are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, Client, localFsStore, nsUrl, startTestServer, type TestStore } from "./support/harness.ts";

const KEYS = 4;
const CLIENTS_PER_KEY = 8;
const MAX_OPS_PER_CLIENT = 60;
const MAX_MS = 8_000;
const DOCS_PER_WRITE = 5;
const NS = nsUrl("load", "test", "docs");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe("load on loopback", () => {
  let store: TestStore;
  let server: SkerryServer;

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage);
  });
  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("should lose no acknowledged write under concurrent writers and queriers", async () => {
    const admin = new Client(server.url, ADMIN_KEY);
    expect((await admin.post(nsUrl("load", "test"), { name: "docs" })).status).toBe(201);
    const clients: Client[] = [];
    for (let k = 0; k < KEYS; k++) {
      const minted = await admin.post("/v1/keys", { role: "write", org: "load", project: "test", name: `load-${k}` });
      for (let c = 0; c < CLIENTS_PER_KEY; c++) clients.push(admin.withKey(minted.body.key));
    }
    const acked = new Set<string>();
    const latency = { write: [] as number[], query: [] as number[] };
    const errors: string[] = [];
    const deadline = Date.now() + MAX_MS;
    const started = Date.now();

    await Promise.all(
      clients.map(async (client, ci) => {
        for (let op = 0; op < MAX_OPS_PER_CLIENT && Date.now() < deadline; op++) {
          const t0 = performance.now();
          try {
            if (op % 10 < 7) {
              const docs = Array.from({ length: DOCS_PER_WRITE }, (_, d) => {
                const id = `c${ci}-o${op}-d${d}`;
                return { id, vector: [ci + 1, op + 1, d + 1, 1], text: { body: `client ${ci} op ${op} doc ${d} word${d}` }, attributes: { client: ci, op } };
              });
              const res = await client.post(`${NS}/upsert`, { documents: docs }, { "Idempotency-Key": `c${ci}-o${op}` });
              latency.write.push(performance.now() - t0);
              if (res.status === 200) for (const d of docs) acked.add(d.id);
              else errors.push(`write ${res.status} ${res.body?.error?.code}`);
            } else {
              const body =
                op % 3 === 0
                  ? { rankBy: ["vector", "kNN", [ci + 1, 1, 1, 1]], topK: 10 }
                  : op % 3 === 1
                    ? { rankBy: ["body", "BM25", `word${op % DOCS_PER_WRITE}`], topK: 10 }
                    : { filters: ["client", "Eq", ci], topK: 10 };
              const res = await client.post(`${NS}/query`, body);
              latency.query.push(performance.now() - t0);
              if (res.status !== 200) errors.push(`query ${res.status} ${res.body?.error?.code}`);
            }
          } catch (error) {
            errors.push(`fetch ${(error as Error).message}`);
          }
        }
      }),
    );
    const elapsed = Date.now() - started;

    // Every acknowledged id must be there, read through the API page by page.
    const seen = new Set<string>();
    let after: string | undefined;
    do {
      const page = await admin.get(`${NS}/documents?limit=10000${after === undefined ? "" : `&after=${after}`}`);
      expect(page.status).toBe(200);
      for (const d of page.body.documents as { id: string }[]) seen.add(d.id);
      after = page.body.next;
    } while (after !== undefined);
    const lost = [...acked].filter((id) => !seen.has(id));

    const ops = latency.write.length + latency.query.length;
    const w = latency.write.sort((a, b) => a - b);
    const q = latency.query.sort((a, b) => a - b);
    const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;
    console.log(
      `[load] ${clients.length} clients, ${ops} requests in ${elapsed} ms (${Math.round((ops * 1000) / elapsed)}/s); ` +
        `writes ${w.length} (${fmt(w)}), queries ${q.length} (${fmt(q)}); ` +
        `errors ${errors.length} (${((100 * errors.length) / Math.max(ops, 1)).toFixed(2)}%); acknowledged docs ${acked.size}, lost ${lost.length}`,
    );
    if (errors.length > 0) console.log(`[load] first errors: ${errors.slice(0, 5).join("; ")}`);
    expect(lost).toEqual([]);
    expect(acked.size).toBeGreaterThan(0);
    expect(errors.length / Math.max(ops, 1)).toBeLessThan(0.01);
  }, 60_000);
});
