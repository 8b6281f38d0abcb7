import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isAlreadyExists, isCorrupt, isInvalidKey, isPreconditionFailed, LocalFsStorage, type ObjectMeta } from "@skerry/storage-providers";
import { describeStorageConformance } from "@skerry/storage-providers/testing";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "local-fs-worker.ts");
const text = (value: string) => new TextEncoder().encode(value);

describeStorageConformance({
  name: "local-fs",
  keyMayBePrefixOfKey: false,
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), "skerry-conformance-"));
    return {
      storage: new LocalFsStorage({ root }),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
});

type Worker = { done: Promise<string>; child: ReturnType<typeof fork> };

/** Forks workers, waits until every one has loaded, then releases them at once. */
async function raceWorkers(argsList: string[][]): Promise<string[]> {
  const workers = argsList.map(spawnWorker);
  await Promise.all(workers.map((w) => new Promise<void>((resolve) => w.child.once("message", () => resolve()))));
  for (const w of workers) w.child.send("go");
  return Promise.all(workers.map((w) => w.done));
}

function spawnWorker(args: string[]): Worker {
  const child = fork(WORKER, args, {
    execArgv: ["--conditions=@skerry/source", "--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<string>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`worker ${args.join(" ")} exited ${code ?? signal}: ${err}`));
    });
  });
  return { done, child };
}

/** Where LocalFsStorage keeps the lock of `key` (see internal/file-lock.ts). */
function lockFileOf(root: string, key: string): string {
  return join(root, ".skerry", "locks", `${createHash("sha256").update(key).digest("hex").slice(0, 40)}.lock`);
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("LocalFsStorage", () => {
  let root: string;
  let storage: LocalFsStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "skerry-localfs-"));
    storage = new LocalFsStorage({ root });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("keeps compare-and-swap exact across 4 processes racing on one key", async () => {
    await storage.put("counter", text(JSON.stringify({ value: 0 })), { mode: { kind: "create" } });
    const processes = 4;
    const increments = 50;
    const results = await raceWorkers(
      Array.from({ length: processes }, (_, i) => ["cas", root, "counter", String(i), String(increments)]),
    );
    const reports = results.map((out) => JSON.parse(out) as { successes: number; conflicts: number });
    expect(reports.map((r) => r.successes)).toEqual(new Array(processes).fill(increments));
    // The processes really raced: some compare-and-swaps lost.
    expect(reports.reduce((sum, r) => sum + r.conflicts, 0)).toBeGreaterThan(0);
    const final = JSON.parse(new TextDecoder().decode((await storage.get("counter")).bytes)) as { value: number };
    expect(final.value).toBe(processes * increments);
  }, 120_000);

  it("lets exactly one of 4 processes create each key", async () => {
    const keys = 40;
    const results = await raceWorkers(
      Array.from({ length: 4 }, (_, i) => ["create", root, "claims", String(i), String(keys)]),
    );
    const won = results.flatMap((out) => (JSON.parse(out) as { won: number[] }).won).sort((a, b) => a - b);
    expect(won).toEqual(Array.from({ length: keys }, (_, i) => i));
  }, 120_000);

  it("never shows a torn object when a writer process is killed mid-write", async () => {
    const size = 4 * 1024 * 1024;
    for (let round = 0; round < 3; round++) {
      const { child, done } = spawnWorker(["churn", root, "hot", String(size)]);
      await new Promise<void>((resolve) => child.once("message", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 150 + round * 70));
      child.kill("SIGKILL");
      await done.catch(() => undefined);
      const meta = await storage.head("hot");
      if (meta === null) continue;
      const { bytes } = await storage.get("hot");
      expect(bytes.byteLength).toBe(size);
      expect(bytes.every((b) => b === bytes[0])).toBe(true);
    }
    // The next write sweeps temp files of the dead writers.
    const fresh = new LocalFsStorage({ root });
    await fresh.put("after", text("x"));
    expect(await readdir(join(root, ".skerry", "tmp"))).toEqual([]);
  }, 60_000);

  it("breaks a lock left by a dead process", async () => {
    const probe = new LocalFsStorage({ root, lockTimeoutMs: 2_000 });
    await probe.put("k", text("v1"));
    expect(await readdir(join(root, ".skerry", "locks"))).toEqual([]);
    const deadPid = 2 ** 22 + 12345; // above Linux's largest pid_max: never alive
    await writeFile(lockFileOf(root, "k"), `${deadPid}\n${hostname()}\nforged\n${Date.now()}\n`);
    const started = Date.now();
    await probe.put("k", text("v3"));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(new TextDecoder().decode((await probe.get("k")).bytes)).toBe("v3");
  });

  it("breaks a lock older than the stale limit even when its pid is alive", async () => {
    const quick = new LocalFsStorage({ root, lockStaleMs: 200, lockTimeoutMs: 5_000 });
    await quick.put("k", text("v1"));
    await writeFile(lockFileOf(root, "k"), `${process.ppid}\n${hostname()}\nold\n${Date.now()}\n`);
    const started = Date.now();
    await quick.put("k", text("v2"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(new TextDecoder().decode((await quick.get("k")).bytes)).toBe("v2");
  });

  it("stores objects as a readable header line followed by the bytes", async () => {
    const { etag } = await storage.put("dir/doc.json", text('{"x":1}'));
    const raw = await readFile(join(root, "dir", "doc.json"), "latin1");
    const [header, body] = [raw.slice(0, raw.indexOf("\n")), raw.slice(raw.indexOf("\n") + 1)];
    expect(header.startsWith(`SKERRY-OBJECT 1 ${etag} `)).toBe(true);
    expect(body).toBe('{"x":1}');
  });

  it("detects a flipped bit, a truncated file and a foreign file as CorruptError naming the key", async () => {
    const corruptAt = async (promise: Promise<unknown>, key: string) => {
      const error = await errorOf(promise);
      expect(isCorrupt(error), String(error)).toBe(true);
      expect((error as { key?: string }).key).toBe(key);
    };
    await storage.put("c/flip", text("hello world"));
    const flip = await open(join(root, "c", "flip"), "r+");
    const last = Buffer.alloc(1);
    const size = (await flip.stat()).size;
    await flip.read(last, 0, 1, size - 1);
    await flip.write(Buffer.from([last[0]! ^ 1]), 0, 1, size - 1);
    await flip.close();
    await corruptAt(storage.get("c/flip"), "c/flip");

    await storage.put("c/short", text("hello world"));
    const short = await open(join(root, "c", "short"), "r+");
    await short.truncate(size - 3);
    await short.close();
    await corruptAt(storage.get("c/short"), "c/short");
    await corruptAt(storage.head("c/short"), "c/short");
    await corruptAt(storage.get("c/short", { range: { offset: 0, length: 2 } }), "c/short");

    await writeFile(join(root, "c", "foreign"), "not a skerry object");
    await corruptAt(storage.get("c/foreign"), "c/foreign");
    await corruptAt(storage.head("c/foreign"), "c/foreign");
    await corruptAt(storage.put("c/foreign", text("x"), { mode: { kind: "update", etag: "0".repeat(32) } }), "c/foreign");
  });

  it("lists around foreign and damaged files instead of failing (.DS_Store, README.txt, a truncated temp file)", async () => {
    await storage.put("ns/manifests/00000001.json", text("m1"));
    await storage.put("ns/manifests/00000002.json", text("m2"));
    await storage.put("ns/segments/s1", text("seg"));
    // Dropped behind the provider's back.
    await writeFile(join(root, ".DS_Store"), Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
    await writeFile(join(root, "ns", "manifests", "README.txt"), "do not touch these files\n");
    await writeFile(join(root, "ns", "manifests", ".DS_Store"), "");
    await writeFile(join(root, "ns", "segments", "s2.tmp"), "SKERRY-OBJECT 1 0123"); // a torn copy: half a header
    await writeFile(join(root, "ns", "segments", "bad\u0001name"), "no key can spell this name");
    const listed = async (prefix: string, options: { startAfter?: string; pageSize?: number } = {}) => {
      const out: ObjectMeta[] = [];
      for await (const meta of storage.list(prefix, options)) out.push(meta);
      return out;
    };
    const all = await listed("");
    expect(all.map((m) => m.key)).toEqual([
      ".DS_Store",
      "ns/manifests/.DS_Store",
      "ns/manifests/00000001.json",
      "ns/manifests/00000002.json",
      "ns/manifests/README.txt",
      "ns/segments/s1",
      "ns/segments/s2.tmp",
    ]);
    const readme = all.find((m) => m.key === "ns/manifests/README.txt")!;
    expect(readme.size).toBe("do not touch these files\n".length);
    expect(readme.etag).toMatch(/^unreadable-/);
    expect((await listed("ns/manifests/", { startAfter: "ns/manifests/00000001.json" })).map((m) => m.key)).toEqual([
      "ns/manifests/00000002.json",
      "ns/manifests/README.txt",
    ]);
    // Real objects keep their real etags; reading a foreign one is what fails.
    expect(all.find((m) => m.key === "ns/segments/s1")!.etag).toBe((await storage.head("ns/segments/s1"))!.etag);
    expect(isCorrupt(await errorOf(storage.get("ns/segments/s2.tmp")))).toBe(true);
    // The listed etag of a foreign file never satisfies an update.
    const overForeign = await errorOf(storage.put("ns/manifests/README.txt", text("x"), { mode: { kind: "update", etag: readme.etag } }));
    expect(isCorrupt(overForeign) || isPreconditionFailed(overForeign)).toBe(true);
    // The tree still works: writes and deletes around the foreign files.
    await storage.put("ns/manifests/00000003.json", text("m3"), { mode: { kind: "create" } });
    await storage.delete("ns/manifests/00000001.json");
    expect((await listed("ns/manifests/0")).map((m) => m.key)).toEqual(["ns/manifests/00000002.json", "ns/manifests/00000003.json"]);
  });

  it("refuses a key whose path crosses an object, and frees it once that object is deleted", async () => {
    await storage.put("a", text("file"));
    expect(isInvalidKey(await errorOf(storage.put("a/b", text("x"))))).toBe(true);
    expect(isInvalidKey(await errorOf(storage.put("a/b", text("x"), { mode: { kind: "create" } })))).toBe(true);
    expect(await storage.head("a/b")).toBeNull();
    await storage.delete("a");
    await storage.put("a/b", text("x"));
    expect(isInvalidKey(await errorOf(storage.put("a", text("y"))))).toBe(true);
    await storage.delete("a/b");
    await storage.put("a", text("y"), { mode: { kind: "create" } });
    expect(new TextDecoder().decode((await storage.get("a")).bytes)).toBe("y");
  });

  it("removes directories emptied by a delete", async () => {
    await storage.put("x/y/z/leaf", text("1"));
    await storage.put("x/keep", text("2"));
    await storage.delete("x/y/z/leaf");
    await expect(stat(join(root, "x", "y"))).rejects.toThrow();
    expect((await stat(join(root, "x"))).isDirectory()).toBe(true);
  });

  it("reserves the .skerry prefix and never lists it", async () => {
    expect(isInvalidKey(await errorOf(storage.put(".skerry/x", text("x"))))).toBe(true);
    expect(isInvalidKey(await errorOf(storage.get(".skerry/tmp/x")))).toBe(true);
    await storage.put("visible", text("x"));
    const keys: string[] = [];
    for await (const meta of storage.list("")) keys.push(meta.key);
    expect(keys).toEqual(["visible"]);
    keys.length = 0;
    for await (const meta of storage.list(".sk")) keys.push(meta.key);
    expect(keys).toEqual([]);
  });

  it("writes nothing outside its root", async () => {
    const parent = await mkdtemp(join(tmpdir(), "skerry-fence-"));
    const inner = join(parent, "root");
    await mkdir(inner);
    const fenced = new LocalFsStorage({ root: inner });
    for (const key of ["../escape", "a/../../escape", "/etc/escape", "a/./b"]) {
      expect(isInvalidKey(await errorOf(fenced.put(key, text("x"))))).toBe(true);
    }
    await fenced.put("ok/inside", text("x"));
    expect(await readdir(parent)).toEqual(["root"]);
    await rm(parent, { recursive: true, force: true });
  });

  it("reports AlreadyExists for create over an existing object after a restart", async () => {
    await storage.put("persist", text("1"));
    const reopened = new LocalFsStorage({ root });
    expect(isAlreadyExists(await errorOf(reopened.put("persist", text("2"), { mode: { kind: "create" } })))).toBe(true);
    const meta = await reopened.head("persist");
    expect(meta?.etag).toBe((await storage.head("persist"))?.etag);
  });
});
