/**
 * Ctrl-C during writes, on the real server process (`pnpm demo`'s entry
 * point): 24 clients keep writing over keep-alive connections; SIGINT
 * arrives mid-way. Every request the server received gets an HTTP answer:
 * 200 (the write committed) or 503 ShuttingDown; the only other outcome
 * allowed is a refused connection (the listener had closed: the request
 * never reached the server). No request ends in a reset or a hang-up. The
 * process exits 0, and after a restart every write answered 200 is there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const APP = fileURLToPath(new URL("..", import.meta.url));
const KEY = "sk_test_admin_key_0123456789abcdef";
const WORKERS = 24;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(dataDir: string, port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", "src/server/main.ts"], {
    cwd: APP,
    env: { ...process.env, S3_BUCKET: "", SKERRY_ADMIN_KEY: KEY, SKERRY_SAMPLE: "0", SKERRY_LOG_LEVEL: "warn", SKERRY_DATA_DIR: dataDir, SKERRY_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(output: () => string, needle: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(needle)) {
    if (Date.now() > deadline) throw new Error(`did not print ${JSON.stringify(needle)}; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The error code under a fetch failure (undici wraps it in `cause`). */
function causeCode(error: unknown): string {
  let e = error as { code?: string; cause?: unknown; message?: string } | undefined;
  for (let i = 0; i < 5 && e !== undefined; i++) {
    if (e.code !== undefined) return e.code;
    e = e.cause as typeof e;
  }
  return String((error as Error).message);
}

describe("graceful shutdown of the server process", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-shutdown-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("should answer every request it received (200 or 503 ShuttingDown) when SIGINT arrives during writes, and keep every acknowledged write", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const ns = `${base}/v1/orgs/acme/projects/search/namespaces`;
    const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
    const run = start(join(dir, "data"), port);
    await waitFor(run.output, "Press Ctrl-C to stop.");
    expect((await fetch(ns, { method: "POST", headers, body: JSON.stringify({ name: "docs" }) })).status).toBe(201);

    const acked: string[] = [];
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    let signalled = false;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let n = 0; ; n++) {
        const id = `w${w}-${n}`;
        const documents = Array.from({ length: 20 }, (_, d) => ({ id: `${id}-${d}`, text: { body: `worker ${w} write ${n} doc ${d}` }, attributes: { w, n } }));
        try {
          const res = await fetch(`${ns}/docs/upsert`, { method: "POST", headers, body: JSON.stringify({ documents }) });
          const body = (await res.json()) as { error?: { code: string } };
          if (res.status === 200) {
            acked.push(...documents.map((d) => d.id));
            count("200");
            continue;
          }
          count(`${res.status} ${body.error?.code}`);
          return; // 503 ShuttingDown: this client stops
        } catch (error) {
          count(causeCode(error) === "ECONNREFUSED" ? "refused (after the listener closed)" : `NO ANSWER: ${causeCode(error)}`);
          return;
        }
      }
    });
    // Mid-way: once a good number of writes are acknowledged and many are in flight.
    while (acked.length < 40 * 20) await new Promise((r) => setTimeout(r, 5));
    run.child.kill("SIGINT");
    signalled = true;
    await Promise.all(workers);
    expect(await run.exited).toBe(0);
    console.log(`[shutdown] ${JSON.stringify(Object.fromEntries(outcomes))}; acknowledged docs ${acked.length}`);
    expect(signalled).toBe(true);
    const failures = [...outcomes.keys()].filter((k) => k !== "200" && k !== "503 ShuttingDown" && !k.startsWith("refused"));
    expect(failures, run.output()).toEqual([]);

    const t0 = Date.now();
    // Restart: every acknowledged write is there.
    const again = start(join(dir, "data"), port);
    await waitFor(again.output, "Press Ctrl-C to stop.");
    const missing: string[] = [];
    for (let i = 0; i < acked.length; i += 5_000) {
      const ids = acked.slice(i, i + 5_000);
      const res = await fetch(`${ns}/docs/documents/get`, { method: "POST", headers, body: JSON.stringify({ ids }) });
      expect(res.status).toBe(200);
      const { documents } = (await res.json()) as { documents: ({ id: string } | null)[] };
      documents.forEach((d, k) => {
        if (d === null) missing.push(ids[k]!);
      });
    }
    expect(missing).toEqual([]);
    console.log(`[shutdown] restart and read-back ${Date.now() - t0} ms`);
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  }, 120_000);
});
