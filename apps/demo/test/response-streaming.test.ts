/**
 * Large answers do not stall the server, and the server bounds its load:
 *
 * - ten concurrent topK-10,000 queries returning every attribute: the
 *   longest single block of the event loop (the server runs in this
 *   process), counted as the time the loop's thread was on a CPU (the
 *   machine is shared; the wall figure is printed beside it), stays well
 *   below what it was when the engine ranked and materialized each
 *   answer's 10,000 rows in one synchronous piece (a median of 94 ms on
 *   CPU, 513 ms wall, on a loaded 2-core machine; ~2.7 s wall earlier
 *   still, when every row was also parsed by zod and the body stringified
 *   at once), and /health answers meanwhile. The test's own client only
 *   collects the answers' bytes while the loop is measured (decoding and
 *   parsing 10 x 2.5 MB of JSON would block this same loop for tens of ms
 *   each); it parses them afterwards;
 * - the streamed answers are the documented JSON, row for row;
 * - the server-wide bound (`maxInFlight`, SKERRY_MAX_IN_FLIGHT) refuses
 *   the request beyond it with 503 Overloaded and Retry-After, whatever
 *   the key, and serves again once a slot frees.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, Client, GatedStorage, nsUrl, startTestServer, until } from "./support/harness.ts";

const NS = nsUrl("acme", "search", "big");
const DOCS = 10_000;

/** POSTs JSON and collects the answer's bytes as they come (no decoding, no parsing: see above). */
async function postCollecting(url: string, body: unknown): Promise<{ status: number; chunks: Uint8Array[] }> {
  const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body as ReadableStream<Uint8Array>) chunks.push(chunk);
  return { status: res.status, chunks };
}

/**
 * The CPU time of this thread (the event loop's), ms: Linux's per-thread
 * schedstat; elsewhere the whole process's CPU time (less exact: it also
 * counts other threads, e.g. the garbage collector's helpers).
 */
function loopThreadCpu(): { now(): number; close(): void } {
  try {
    const fd = openSync("/proc/thread-self/schedstat", "r");
    const buffer = Buffer.alloc(128);
    return {
      now: () => Number(buffer.toString("latin1", 0, readSync(fd, buffer, 0, buffer.length, 0)).split(" ")[0]) / 1e6,
      close: () => closeSync(fd),
    };
  } catch {
    return { now: () => (process.cpuUsage().user + process.cpuUsage().system) / 1000, close: () => {} };
  }
}

/**
 * Watches the event loop with a 1 ms timer: `longest()` is the longest
 * stretch between two of its turns, counting only the time the loop's
 * thread was on a CPU meanwhile. The machine is shared (loads of 20 on 2
 * cores happen): a stretch in which the OS ran other processes is not a
 * block of this server's making (the wall clock figure,
 * monitorEventLoopDelay's, is printed beside it).
 */
function watchLoop(): { stop(): void; longest(): number } {
  const cpu = loopThreadCpu();
  let last = performance.now();
  let lastCpu = cpu.now();
  let longest = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    const used = cpu.now();
    longest = Math.max(longest, Math.min(now - last, used - lastCpu));
    last = now;
    lastCpu = used;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    stop: () => {
      clearTimeout(timer);
      cpu.close();
    },
    longest: () => longest,
  };
}

function parseChunks(chunks: Uint8Array[]): unknown {
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function document(i: number) {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [i % 7, i % 11, 1, 2],
    attributes: {
      category: `cat-${i % 13}`,
      price: i * 1.5,
      rating: i % 5,
      year: 2000 + (i % 20),
      tags: ["a", "b", `t${i % 9}`],
      in_stock: i % 2 === 0,
      title: `title number ${i} with some words`,
      nested: { x: i, y: [1, 2, 3] },
    },
  };
}

describe("large answers and the server-wide bound", () => {
  let server: SkerryServer;
  let admin: Client;

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage(), {}, { compaction: { auto: false } });
    admin = new Client(server.url, ADMIN_KEY);
    expect((await admin.post(nsUrl("acme", "search"), { name: "big" })).status).toBe(201);
    for (let from = 0; from < DOCS; from += 2_500) {
      const documents = Array.from({ length: 2_500 }, (_, k) => document(from + k));
      expect((await admin.post(`${NS}/upsert`, { documents })).status).toBe(200);
    }
    expect((await admin.post(`${NS}/compact`, { force: true })).status).toBe(200);
    // Warm the namespace's state, query index and attribute columns (one such query, alone): the lag measured below is the answers'.
    expect((await admin.post(`${NS}/query`, { rankBy: ["vector", "kNN", [1, 2, 3, 4]], topK: DOCS, includeAttributes: true })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it("should keep the event loop responsive while ten topK-10,000 all-attribute answers are sent", async () => {
    const query = { rankBy: ["vector", "kNN", [1, 2, 3, 4]], topK: DOCS, includeAttributes: true };
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const loop = watchLoop();
    const health: number[] = [];
    let running = true;
    const probe = (async () => {
      while (running) {
        const t0 = performance.now();
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        health.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const collected = await Promise.all(Array.from({ length: 10 }, () => postCollecting(`${server.url}${NS}/query`, query)));
    running = false;
    await probe;
    lag.disable();
    loop.stop();
    const maxBlockMs = loop.longest();
    console.log(
      `[lag] ten topK-10,000 answers: longest event-loop block ${maxBlockMs.toFixed(1)} ms on CPU (${(lag.max / 1e6).toFixed(1)} ms wall), /health ${health.length} probes, slowest ${Math.max(...health).toFixed(1)} ms`,
    );
    // biome-ignore lint/suspicious/noExplicitAny: answers are untyped JSON the test indexes into
    const answers = collected.map(({ status, chunks }) => ({ status, body: parseChunks(chunks) as any }));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.rows).toHaveLength(DOCS);
    }
    // The rows are the documented JSON: id, distance, every attribute, nothing else.
    const byId = new Map((answers[0]!.body.rows as { id: string }[]).map((r) => [r.id, r]));
    expect(byId.get("doc-00042")).toEqual({ id: "doc-00042", distance: expect.any(Number), attributes: document(42).attributes });
    expect(Object.keys(answers[0]!.body).sort()).toEqual(["rows", "version"]);
    // Row for row, byte for byte, what `engine.query` answers (the route streams the engine's `rows.json(i)`).
    const expected = await server.engine.query("acme/search/big", query);
    expect(Buffer.concat(collected[0]!.chunks).toString("utf8")).toBe(JSON.stringify({ version: expected.version, rows: expected.rows }));
    // Longest block on CPU, 7 runs each, loads of 10-18 on a 2-core machine. Before (the engine ranked and
    // materialized each answer's rows in one piece): 80-125 ms, median 94 (wall 169-1,512 ms, median 513).
    // After (ranking, rows and the bodies in the shared slices of one QuerySlicer): 20-33 ms, median 26 (wall
    // 81-219 ms, median 114); what remains is garbage collection, the burst of ten requests' parsing and the
    // sockets. (~2,700 ms wall when every row was also parsed by zod and each body stringified at once.)
    expect(maxBlockMs).toBeLessThan(60);
    expect(health.length).toBeGreaterThan(1);
  }, 120_000);

  it("should stream documents by id and scan pages as the documented JSON", async () => {
    const got = await admin.post(`${NS}/documents/get`, { ids: ["doc-00007", "nope"] });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ version: expect.any(Number), documents: [{ id: "doc-00007", vector: [0, 7, 1, 2], attributes: document(7).attributes }, null] });
    const page = await admin.get(`${NS}/documents?limit=3`);
    expect(page.body.documents.map((d: { id: string }) => d.id)).toEqual(["doc-00000", "doc-00001", "doc-00002"]);
    expect(page.body.next).toBe("doc-00002");
    const last = await admin.get(`${NS}/documents?after=doc-09998`);
    expect(last.body).toEqual({ version: expect.any(Number), documents: [{ id: "doc-09999", vector: [9999 % 7, 9999 % 11, 1, 2], attributes: document(9999).attributes }] });
  });
});

describe("server-wide in-flight bound", () => {
  it("should refuse requests beyond maxInFlight with 503 Overloaded and Retry-After, for every key, and serve again once slots free", async () => {
    const gated = new GatedStorage(new MemoryStorage());
    const server = await startTestServer(gated.storage, { maxInFlight: 3, maxInFlightPerKey: 100 });
    const admin = new Client(server.url, ADMIN_KEY);
    expect((await admin.post(nsUrl("acme", "search"), { name: "docs" })).status).toBe(201);
    const minted = await admin.post("/v1/keys", { role: "read", org: "acme", project: "search" });
    const reader = admin.withKey(minted.body.key);
    await reader.get(nsUrl("acme", "search", "docs")); // caches the key before the gate closes
    gated.close();
    const held = [admin.get(nsUrl("acme", "search", "docs")), admin.get(nsUrl("acme", "search", "docs")), reader.get(nsUrl("acme", "search", "docs"))];
    await until(() => gated.waiting >= 3);
    for (const client of [admin, reader, admin.withKey(undefined)]) {
      const refused = await client.get(nsUrl("acme", "search", "docs"));
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("Overloaded");
      expect(refused.headers.get("retry-after")).toBe("1");
    }
    expect((await admin.withKey(undefined).get("/health")).status).toBe(200); // outside /v1: never refused
    gated.open();
    for (const res of await Promise.all(held)) expect(res.status).toBe(200);
    expect((await reader.get(nsUrl("acme", "search", "docs"))).status).toBe(200);
    const metrics = (await admin.withKey(undefined).get("/metrics")).body as string;
    expect(metrics).toMatch(/skerry_rejected_requests_total\{reason="overloaded"\} 3/);
    await server.close();
  });
});
