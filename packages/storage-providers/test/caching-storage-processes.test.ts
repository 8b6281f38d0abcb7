/**
 * CachingStorage disk tier shared by processes: two real processes read
 * random ranges through caches on one directory with a budget far below
 * the data, so both write, read each other's entries and evict concurrently,
 * while this process damages entries in place behind their backs. No read
 * may ever answer wrong bytes or fail.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CacheStats, LocalFsStorage } from "@skerry/storage-providers";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "cache-worker.ts");

interface WorkerReport {
  reads: number;
  mismatches: number;
  errors: string[];
  errorCount: number;
  stats: CacheStats;
}

function spawnWorker(args: string[]) {
  const child = fork(WORKER, args, {
    execArgv: ["--conditions=@skerry/source", "--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<WorkerReport>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(JSON.parse(out) as WorkerReport);
      else reject(new Error(`cache worker exited ${code ?? signal}: ${err}`));
    });
  });
  const ready = new Promise<void>((resolve) => child.once("message", () => resolve()));
  return { child, done, ready };
}

/** Flips a byte or cuts the tail of random entry files, in place, until stopped. */
async function vandal(cacheDir: string, stopped: () => boolean): Promise<number> {
  let damaged = 0;
  while (!stopped()) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    const files: string[] = [];
    for (const shard of await readdir(cacheDir).catch(() => [] as string[])) {
      for (const name of await readdir(join(cacheDir, shard)).catch(() => [] as string[])) {
        if (name.endsWith(".blk")) files.push(join(cacheDir, shard, name));
      }
    }
    const file = files[Math.floor(Math.random() * files.length)];
    if (file === undefined) continue;
    try {
      const size = (await stat(file)).size;
      const handle = await open(file, "r+");
      try {
        if (damaged % 3 === 2) await handle.truncate(Math.floor(size / 2));
        else await handle.write(randomBytes(1), 0, 1, Math.floor(Math.random() * size));
      } finally {
        await handle.close();
      }
      damaged++;
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error; // evicted meanwhile: fine
    }
  }
  return damaged;
}

describe("CachingStorage disk tier shared by two processes", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "skerry-cache-procs-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function run(options: { vandal: boolean; reads: number }) {
    const storeRoot = join(root, "store");
    const cacheDir = join(root, "cache");
    const store = new LocalFsStorage({ root: storeRoot });
    let dataBytes = 0;
    for (let i = 0; i < 8; i++) {
      const size = 10_000 + i * 40_000 + (i % 3) * 1_111; // 10 KB .. 292 KB, most ending in a partial block
      await store.put(`seg/${i}`, randomBytes(size));
      dataBytes += size;
    }
    const diskBytes = 160 * 1024; // an eighth of the data: constant eviction
    expect(dataBytes).toBeGreaterThan(diskBytes * 6);
    const workers = [1, 2].map((seed) => spawnWorker([storeRoot, cacheDir, String(seed), String(options.reads), String(diskBytes)]));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.send("go");
    let stop = false;
    const damage = options.vandal ? vandal(cacheDir, () => stop) : Promise.resolve(0);
    let reports: WorkerReport[];
    try {
      reports = await Promise.all(workers.map((w) => w.done));
    } finally {
      stop = true;
    }
    const damaged = await damage;
    for (const report of reports) {
      expect(report.errors).toEqual([]);
      expect(report.reads).toBe(options.reads);
      expect(report.mismatches).toBe(0);
      expect(report.stats.diskHits).toBeGreaterThan(0);
      expect(report.stats.passThroughs).toBe(0);
      expect(report.stats.diskErrors).toBe(0);
    }
    const total = (field: keyof CacheStats) => reports.reduce((sum, r) => sum + r.stats[field], 0);
    expect(total("diskEvictions")).toBeGreaterThan(0);
    console.log(
      `[cache processes${options.vandal ? ", vandal" : ""}] reads ${reports.reduce((sum, r) => sum + r.reads, 0)}, disk hits ${total("diskHits")}, ` +
        `misses ${total("misses")}, disk evictions ${total("diskEvictions")}, damaged ${damaged}, corrupt caught ${total("corruptDiskEntries")}`,
    );
    return { total, damaged };
  }

  it("two processes reading, writing and evicting one directory never see a partial entry or a wrong byte", async () => {
    const { total } = await run({ vandal: false, reads: 1000 });
    // Entries appear by rename only, and a vanished file is a miss: nothing torn, nothing failed.
    expect(total("corruptDiskEntries")).toBe(0);
  });

  it("with entries damaged in place behind both processes, damage is caught and never served", async () => {
    const { total, damaged } = await run({ vandal: true, reads: 1500 });
    expect(damaged).toBeGreaterThan(0);
    // Not every damaged file is read before it is evicted or replaced, but some are.
    expect(total("corruptDiskEntries")).toBeGreaterThan(0);
  });
});
