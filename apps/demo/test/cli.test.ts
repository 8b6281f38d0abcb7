/**
 * The `skerry` CLI against a local-fs data directory: namespaces, NDJSON
 * import (and its idempotent re-run), reads, queries, versions, manifests
 * (a carried batch shown as its size and hash), WAL forensics on a real
 * state document, compaction (forced, and honest when there is nothing to
 * do), branches, copies, pins, manifest GC, repair, stats (local and of a
 * running server), `--json` output, help, and errors that say how to fix
 * them.
 *
 * Commands run in this process through `runCli` (what bin/skerry.mjs runs,
 * via main.ts), each on a fresh engine over the shared data directory, so
 * the suite takes seconds on a busy 2-core machine; one test runs the real
 * binary (a child node over the TypeScript sources) end to end.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalFsStorage } from "@skerry/storage-providers";
import { encodeMutationState, walIdFromHex } from "@skerry/wal-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.ts";
import { ADMIN_KEY, startTestServer } from "./support/harness.ts";

const BIN = fileURLToPath(new URL("../bin/skerry.mjs", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;

/** One command line, in this process: `skerry --data-dir <dir>/data ...args`. */
async function skerry(...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["--data-dir", join(dir, "data"), ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { ...process.env, S3_BUCKET: "", SKERRY_CLI_NAME: "skerry" },
  });
  return { code, stdout, stderr };
}

/** The same through the real binary: a child `node bin/skerry.mjs`. */
function spawnSkerry(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "--data-dir", join(dir, "data"), ...args], { cwd: dir, env: { ...process.env, S3_BUCKET: "" } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

describe("skerry CLI", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-cli-test-"));
    const lines = Array.from({ length: 250 }, (_, i) =>
      JSON.stringify({ id: `d${String(i).padStart(4, "0")}`, vector: [i % 7, 1, (i % 3) + 1], text: { body: i % 10 === 0 ? "rare lighthouse" : "common text" }, attributes: { n: i, even: i % 2 === 0 } }),
    );
    await writeFile(join(dir, "docs.ndjson"), `${lines.join("\n")}\n\n`);
    await writeFile(join(dir, "bad.ndjson"), '{"id":"ok"}\n{not json}\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("should explain how to fix a missing data directory", async () => {
    const run = await skerry("ns", "list", "acme/search");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("no data directory");
    expect(run.stderr).toContain("fix: start the server once with `pnpm demo`");
  });

  it("should create a namespace, import NDJSON, and skip committed batches on a re-run", async () => {
    const created = await skerry("ns", "create", "acme/search/docs", "--label", "team=search");
    expect(created.stdout).toContain("created acme/search/docs at version 1");
    const first = await skerry("--json", "write", "acme/search/docs", "--file", join(dir, "docs.ndjson"), "--batch", "100");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ documents: 250, batches: 3, deduplicatedBatches: 0, lastVersion: 4 });
    const again = await skerry("--json", "write", "acme/search/docs", "--file", join(dir, "docs.ndjson"), "--batch", "100");
    expect(JSON.parse(again.stdout)).toMatchObject({ documents: 250, batches: 3, deduplicatedBatches: 3, lastVersion: 4 });
  });

  it("should list, inspect, read, scan, query and version a namespace", async () => {
    expect(JSON.parse((await skerry("--json", "ns", "list", "acme/search")).stdout)).toEqual({ namespaces: ["docs"] });
    const info = await skerry("ns", "get", "acme/search/docs");
    expect(info.stdout).toMatch(/documents\s+250$/m);
    expect(info.stdout).toMatch(/vectors\s+3 dims, cosine/);
    const got = JSON.parse((await skerry("--json", "get", "acme/search/docs", "d0007", "nope")).stdout);
    expect(got.documents[0]).toMatchObject({ id: "d0007", attributes: { n: 7, even: false } });
    expect(got.documents[1]).toBeNull();
    const scan = JSON.parse((await skerry("--json", "scan", "acme/search/docs", "--limit", "2", "--after", "d0100")).stdout);
    expect(scan.documents.map((d: { id: string }) => d.id)).toEqual(["d0101", "d0102"]);
    const query = JSON.parse(
      (await skerry("--json", "query", "acme/search/docs", '{"rankBy":["body","BM25","lighthouse"],"filters":["n","Lt",25],"topK":5}')).stdout,
    );
    expect(query.rows.map((r: { id: string }) => r.id).sort()).toEqual(["d0000", "d0010", "d0020"]);
    const versions = JSON.parse((await skerry("--json", "versions", "acme/search/docs")).stdout);
    expect(versions.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3, 4]);
    const manifest = JSON.parse((await skerry("--json", "manifest", "acme/search/docs", "--at-version", "2")).stdout);
    expect(manifest.version).toBe(2);
    expect(manifest.containers).toHaveLength(1);
  });

  it("should print a manifest carrying a batch with the batch's size and hash, never its bytes", async () => {
    const json = JSON.parse((await skerry("--json", "manifest", "acme/search/docs", "--at-version", "2")).stdout);
    const [carried] = json.containers;
    expect(carried).toMatchObject({ kind: "LOG_BATCH", carrierVersion: 2, rowCount: 100 });
    expect(carried.inline).toEqual({ bytes: carried.byteSize, blake3: carried.contentHash });
    const human = await skerry("manifest", "acme/search/docs", "--at-version", "2");
    expect(human.code).toBe(0);
    expect(human.stdout.split("\n").length).toBeLessThan(200);
    expect(human.stdout).toContain(`"bytes": ${carried.byteSize}`);
    expect(human.stdout).toContain(`"blake3": "${carried.contentHash}"`);
  });

  it("should run the real binary end to end, with its exit status", async () => {
    // One child process (node bin/skerry.mjs over the TypeScript sources): output, and exit status 3 for an id not found.
    const run = await spawnSkerry("get", "acme/search/docs", "d0007", "nope");
    expect(run.stdout).toContain('d0007  vector[3]  text {"body":"common text"}  attributes {"n":7,"even":false}');
    expect(run.stdout).toContain("nope  (not found)");
    expect(run.code).toBe(3);
  });

  it("should list and pretty-print WAL state documents, and flag one that does not decode", async () => {
    const storage = new LocalFsStorage({ root: join(dir, "data") });
    const hex = "0000019a0b1c2d3e4f5061728394a5b6";
    const doc = encodeMutationState({
      walId: walIdFromHex(hex),
      schemaVersion: 1,
      opKind: "DELETE",
      state: "INTENT",
      createdAt: Date.parse("2026-11-01T12:00:00Z"),
      predicateRepr: "n < 10",
      targetIds: [],
      tombstoneProgress: [],
    });
    await storage.put(`acme/search/ns/docs/wal/mutations/${hex}.json`, doc);
    const broken = "0000019a0b1c2d3e4f5061728394a5b7";
    await storage.put(`acme/search/ns/docs/wal/mutations/${broken}.json`, new TextEncoder().encode('{"wal_id":"x","state":"WEIRD"}'));
    const listed = JSON.parse((await skerry("--json", "wal", "list", "acme/search/docs")).stdout);
    expect(listed.entries).toHaveLength(2);
    expect(listed.entries[0]).toMatchObject({ walId: hex, opKind: "DELETE", state: "INTENT", targets: 0 });
    expect(listed.entries[1].error).toBeDefined();
    const shown = await skerry("wal", "show", "acme/search/docs", hex);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("(valid)");
    expect(shown.stdout).toContain('"predicate_repr": "n < 10"');
    const bad = await skerry("wal", "show", "acme/search/docs", broken);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain("INVALID");
    const sidecars = await skerry("wal", "sidecars", "acme/search/docs");
    expect(sidecars.stdout).toContain("no tombstone sidecars");
  });

  it("should name the line of bad NDJSON and the fix for a missing namespace", async () => {
    const bad = await skerry("write", "acme/search/docs", "--file", join(dir, "bad.ndjson"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("bad.ndjson:2 is not valid JSON");
    const missing = await skerry("ns", "get", "acme/search/nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("namespace not found: acme/search/nope");
    expect(missing.stderr).toContain("fix: list the namespaces with `skerry ns list <org>/<project>`");
    const json = await skerry("--json", "ns", "get", "acme/search/nope");
    expect(JSON.parse(json.stdout).error.code).toBe("NamespaceNotFound");
  });

  it("should delete by filter, compact, recover and collect WAL garbage", async () => {
    const deleted = JSON.parse((await skerry("--json", "delete-by-filter", "acme/search/docs", '["n","Lt",100]')).stdout);
    expect(deleted).toMatchObject({ matched: 100, deleted: 100 });
    const compacted = await skerry("compact", "acme/search/docs", "--force");
    expect(compacted.stdout).toContain("compacted acme/search/docs");
    expect(compacted.stdout).toMatch(/liveDocuments\s+150/);
    const recovered = JSON.parse((await skerry("--json", "recover", "acme/search/docs")).stdout);
    expect(recovered.wal.scanned).toBeGreaterThanOrEqual(1);
    const gc = JSON.parse((await skerry("--json", "wal", "gc", "acme/search/docs", "--grace-ms", "0")).stdout);
    expect(gc.wal.deletedStates).toBeGreaterThanOrEqual(1);
  });

  it("should force the compaction of one log batch, and say when there is nothing to compact", async () => {
    await writeFile(join(dir, "one.ndjson"), '{"id":"a","attributes":{"n":1}}\n{"id":"b","attributes":{"n":2}}\n');
    expect((await skerry("ns", "create", "initech/ops/one")).code).toBe(0);
    expect((await skerry("write", "initech/ops/one", "--file", join(dir, "one.ndjson"))).code).toBe(0);
    const below = await skerry("compact", "initech/ops/one");
    expect(below.code).toBe(0);
    expect(below.stdout).toContain("initech/ops/one is below the compaction thresholds (1 log batch,");
    expect(below.stdout).toContain("use --force to compact it anyway");
    const forced = await skerry("compact", "--force", "initech/ops/one");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("compacted initech/ops/one: 1 container into one segment of 2 documents, now at version 3");
    const manifest = JSON.parse((await skerry("--json", "manifest", "initech/ops/one")).stdout);
    expect(manifest.version).toBe(3);
    expect(manifest.containers).toHaveLength(1);
    expect(manifest.containers[0]).toMatchObject({ kind: "SEGMENT", rowCount: 2 });
    const again = await skerry("compact", "initech/ops/one", "--force");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("initech/ops/one is already compact at version 3 (one segment, 2 rows, no deletions): nothing to compact, even with --force");
    expect(again.stdout).not.toContain("use --force");
    const json = JSON.parse((await skerry("--json", "compact", "initech/ops/one", "--force")).stdout);
    expect(json).toMatchObject({ performed: false, version: 3 });
    expect(json.message).toContain("nothing to compact");
    expect((await skerry("ns", "delete", "initech/ops/one")).code).toBe(0);
  });

  it("should print help for the program and for every command", async () => {
    const top = await skerry("--help");
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: skerry [options] [command]");
    for (const name of ["ns", "versions", "manifest", "write", "get", "scan", "query", "recover", "compact", "gc", "repair", "stats", "delete-by-filter", "wal"]) {
      expect(top.stdout).toContain(`\n  ${name} `);
    }
    const commands = [
      ...["create", "list", "get", "delete", "branch", "copy", "pin", "unpin", "warm"].map((c) => ["ns", c]),
      ...["list", "show", "gc", "sidecars"].map((c) => ["wal", c]),
      ...["ns", "wal", "versions", "manifest", "write", "get", "scan", "query", "recover", "compact", "gc", "repair", "stats", "delete-by-filter"].map((c) => [c]),
    ];
    for (const command of commands) {
      const help = await skerry(...command, "--help");
      expect(help.code, command.join(" ")).toBe(0);
      expect(help.stdout, command.join(" ")).toContain(`Usage: skerry ${command.join(" ")} [options]`);
      expect(help.stderr).toBe("");
    }
    expect((await skerry("compact", "--help")).stdout).toContain("--force");
  });

  it("should branch, copy, pin, warm, unpin, collect manifest garbage, repair and print stats", async () => {
    const branched = JSON.parse((await skerry("--json", "ns", "branch", "acme/search/docs", "acme/search/exp", "--at-version", "2", "--label", "kind=exp")).stdout);
    expect(branched).toMatchObject({ path: "acme/search/exp", docCount: 100, labels: { kind: "exp" }, parent: { namespace: "acme/search/docs", version: 2 } });
    const copied = await skerry("ns", "copy", "acme/search/docs", "globex/web/docs");
    expect(copied.code).toBe(0);
    expect(copied.stdout).toMatch(/^copied acme\/search\/docs to globex\/web\/docs \(150 documents/);
    const cross = await skerry("ns", "branch", "acme/search/docs", "globex/web/nope");
    expect(cross.code).toBe(1);
    expect(cross.stderr).toContain("a branch stays in its project");
    const pinned = JSON.parse((await skerry("--json", "ns", "pin", "acme/search/exp")).stdout);
    expect(pinned).toMatchObject({ path: "acme/search/exp", docCount: 100, pinned: true });
    expect((await skerry("ns", "get", "acme/search/exp")).stdout).toMatch(/pinned\s+yes/);
    const warmed = await skerry("ns", "warm", "globex/web/docs");
    expect(warmed.stdout).toMatch(/^warmed globex\/web\/docs at version \d+: 150 documents/);
    const stats = JSON.parse((await skerry("--json", "stats", "acme/search/exp")).stdout);
    expect(stats).toMatchObject({ pinned: ["acme/search/exp"], stateCache: { builds: 1 }, queryCache: { segmentIndexes: { loads: 0 } } });
    expect((await skerry("stats")).stdout).toContain("pinned           acme/search/exp");
    expect(JSON.parse((await skerry("--json", "ns", "unpin", "acme/search/exp")).stdout)).toEqual({ path: "acme/search/exp", pinned: false, wasPinned: true });
    expect((await skerry("ns", "unpin", "acme/search/nope")).code).toBe(1);
    const gc = JSON.parse((await skerry("--json", "gc", "acme/search/docs", "--keep-versions", "1", "--keep-for-ms", "0")).stdout);
    expect(gc.versionsDeleted).toBeGreaterThanOrEqual(1);
    expect(gc.oldestVersion).toBe(gc.latestVersion);
    expect(JSON.parse((await skerry("--json", "versions", "acme/search/docs")).stdout).versions).toHaveLength(1);
    expect((await skerry("gc", "acme/search/docs", "--keep-versions", "0")).code).toBe(1);
    const repaired = JSON.parse((await skerry("--json", "repair", "acme/search", "--sweep")).stdout);
    expect(repaired).toMatchObject({ live: 2, swept: 0 });
    expect((await skerry("repair", "acme")).code).toBe(1);
    // The branch still reads its shared objects after the source's GC and repair.
    const q = JSON.parse((await skerry("--json", "query", "acme/search/exp", '{"filters":["n","Lt",3],"topK":5}')).stdout);
    expect(q.rows).toHaveLength(3);
    for (const path of ["acme/search/exp", "globex/web/docs"]) expect((await skerry("ns", "delete", path)).code).toBe(0);
  });

  it("should print a running server's stats with --server and an admin key", async () => {
    const server = await startTestServer(new LocalFsStorage({ root: join(dir, "data") }));
    try {
      const remote = JSON.parse((await skerry("--json", "stats", "--server", server.url, "--key", ADMIN_KEY)).stdout);
      expect(remote).toMatchObject({ writes: { commits: 0 }, stateCache: { entries: 0 }, pinned: [] });
      const wrong = await skerry("stats", "--server", server.url, "--key", "sk_wrong_key_0000000000000");
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("answered 401");
      const unreachable = await skerry("stats", "--server", "http://127.0.0.1:9", "--key", ADMIN_KEY);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain("cannot reach http://127.0.0.1:9");
    } finally {
      await server.close();
    }
  });

  it("should keep labels named __proto__ and constructor as data (create, get, branch)", async () => {
    const created = JSON.parse((await skerry("--json", "ns", "create", "acme/proto/labels", "--label", "__proto__=x", "--label", "constructor=y=z")).stdout);
    expect(Object.hasOwn(created.labels, "__proto__")).toBe(true);
    expect(Object.entries(created.labels)).toEqual([["__proto__", "x"], ["constructor", "y=z"]]);
    const info = await skerry("--json", "ns", "get", "acme/proto/labels");
    expect(Object.entries(JSON.parse(info.stdout).labels)).toEqual([["__proto__", "x"], ["constructor", "y=z"]]);
    expect((await skerry("ns", "get", "acme/proto/labels")).stdout).toContain('labels       {"__proto__":"x","constructor":"y=z"}');
    const branched = JSON.parse((await skerry("--json", "ns", "branch", "acme/proto/labels", "acme/proto/labels-exp", "--label", "__proto__=exp")).stdout);
    expect(Object.entries(branched.labels)).toEqual([["__proto__", "exp"]]);
  });

  it("should exit 2 on a usage error and delete a namespace", async () => {
    expect((await skerry("frobnicate")).code).toBe(2);
    const deleted = await skerry("ns", "delete", "acme/search/docs");
    expect(deleted.stdout).toContain("deleted acme/search/docs");
    expect(JSON.parse((await skerry("--json", "ns", "list", "acme/search")).stdout)).toEqual({ namespaces: [] });
  });
});
