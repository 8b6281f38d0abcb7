/**
 * The server entry point as `pnpm demo` runs it (a real process): first
 * run creates the sample namespace and prints the URL, a generated admin
 * key (also saved with mode 0600), the console link and a working example request; SIGTERM
 * stops it cleanly; a second run keeps the data and points at the key
 * file; a busy explicit port fails with the variable to change.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const APP = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", "src/server/main.ts"], {
    cwd: APP,
    env: { ...process.env, S3_BUCKET: "", SKERRY_ADMIN_KEY: "", SKERRY_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(output: () => string, needle: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(needle)) {
    if (Date.now() > deadline) throw new Error(`did not print ${JSON.stringify(needle)}; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("server entry point (pnpm demo)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-main-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("should start with the sample dataset, print a working example, and stop on SIGTERM", async () => {
    const port = await freePort();
    const run = start({ SKERRY_DATA_DIR: join(dir, "data"), SKERRY_PORT: String(port) });
    await waitFor(run.output, "Press Ctrl-C to stop.");
    const out = run.output();
    expect(out).toContain(`Skerry is running at http://127.0.0.1:${port}`);
    const key = /admin key:\s+(sk_\S+)/.exec(out)?.[1];
    expect(key).toBeDefined();
    expect((await stat(join(dir, "data", "admin-key.txt"))).mode & 0o777).toBe(0o600);
    // The printed query example, as printed.
    const url = /(http:\S+\/query)/.exec(out)?.[1] as string;
    const body = /-d '(\{"rankBy".*\})'/.exec(out)?.[1] as string;
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: unknown[] }).rows.length).toBe(3);
    const info = await fetch(`http://127.0.0.1:${port}/v1/orgs/demo/projects/sample/namespaces/products`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await info.json()) as { docCount: number }).docCount).toBe(3_000);
    // The printed console link serves the console.
    const consoleUrl = /console:\s+(http:\S+)/.exec(out)?.[1] as string;
    expect(consoleUrl).toBe(`http://127.0.0.1:${port}/console`);
    expect((await fetch(consoleUrl)).headers.get("content-type")).toBe("text/html; charset=utf-8");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);

    const again = start({ SKERRY_DATA_DIR: join(dir, "data"), SKERRY_PORT: String(port) });
    await waitFor(again.output, "Press Ctrl-C to stop.");
    expect(again.output()).not.toContain("loading the sample dataset");
    expect(again.output()).toContain(`admin key:  in ${join(dir, "data", "admin-key.txt")}`);
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
  }, 60_000);

  it("should fail with the variable to change when an explicit port is busy", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    const run = start({ SKERRY_DATA_DIR: join(dir, "busy"), SKERRY_PORT: String(port), SKERRY_SAMPLE: "0" });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`port ${port} on 127.0.0.1 is in use: set SKERRY_PORT to a free port`);
    await new Promise((resolve) => blocker.close(resolve));
  }, 30_000);
});
