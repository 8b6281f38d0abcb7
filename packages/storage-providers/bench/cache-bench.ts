/**
 * CachingStorage block cache over LocalFsStorage with injected latency (an
 * object store's round trip), each figure beside its baseline: the same
 * read made uncached against the same slow inner store.
 *
 * - cold: 16 KiB ranged reads, each in a block never read before (the cache
 *   fetches the whole 256 KiB block and stores it);
 * - warm memory / warm disk: the same reads again, served from memory, or
 *   from the disk tier by a second instance with no memory tier (a restart);
 * - 8 concurrent cold readers of one block: one inner GET shared by all;
 * - warm memory without latency: the cache's own overhead against a plain
 *   local-fs ranged read.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CachingStorage, FaultInjectingStorage, LocalFsStorage } from "../src/index.ts";
import { compare, report } from "./harness.ts";

const LATENCY_MS = Number(process.env.SKERRY_BENCH_CACHE_LATENCY_MS ?? 5);
const OPS = Number(process.env.SKERRY_BENCH_CACHE_OPS ?? 120);
const BLOCK = 256 * 1024;
const READ = 16 * 1024;

export async function benchCache(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "skerry-bench-cache-"));
  try {
    const local = new LocalFsStorage({ root: join(root, "store") });
    // Enough blocks that every cold read (subject and concurrent rounds) meets a fresh one.
    const blocks = OPS * 2 + 16;
    await local.put("seg/big", randomBytes(blocks * BLOCK));
    const slow = new FaultInjectingStorage(local, { maxRecordedCalls: 1000 });
    slow.addLatency(LATENCY_MS, (call) => call.op === "get");
    const options = { isImmutable: () => true, blockBytes: BLOCK, memoryBytes: 256 * 1024 * 1024 };
    const diskDir = join(root, "cache");
    const cache = new CachingStorage(slow, { ...options, disk: { dir: diskDir, maxBytes: 1024 * 1024 * 1024 } });
    // A read of READ bytes in the middle of block i.
    const rangeOf = (i: number) => ({ offset: i * BLOCK + BLOCK / 2, length: READ });
    await cache.head("seg/big"); // the size is known: cold reads are one GET each

    console.log(
      `cache over local-fs + ${LATENCY_MS} ms per GET, ${OPS} reads of ${READ / 1024} KiB in ${BLOCK / 1024} KiB blocks, sequential`,
    );
    report(
      "cold ranged read",
      "cached (fetch block)",
      "uncached ranged read",
      await compare(OPS, 6, (i) => cache.get("seg/big", { range: rangeOf(i) }), (i) => slow.get("seg/big", { range: rangeOf(i) })),
    );
    await cache.flush();

    report(
      "warm memory",
      "cached (memory)",
      "uncached ranged read",
      await compare(OPS, 6, (i) => cache.get("seg/big", { range: rangeOf(i) }), (i) => slow.get("seg/big", { range: rangeOf(i) })),
    );

    const restarted = new CachingStorage(slow, { ...options, memoryBytes: 0, disk: { dir: diskDir, maxBytes: 1024 * 1024 * 1024 } });
    await restarted.head("seg/big");
    report(
      "warm disk (restart)",
      "cached (disk)",
      "uncached ranged read",
      await compare(OPS, 6, (i) => restarted.get("seg/big", { range: rangeOf(i) }), (i) => slow.get("seg/big", { range: rangeOf(i) })),
    );
    if (restarted.stats().innerFetches !== 0) throw new Error("the restarted cache fetched: the disk tier missed");

    const readers = 8;
    const before = cache.stats().innerFetches;
    const concurrentRounds = Math.max(6, Math.floor(OPS / 4));
    report(
      `${readers} readers, 1 cold block`,
      "cached (shared fetch)",
      `${readers} uncached reads`,
      await compare(
        concurrentRounds,
        6,
        (i) => Promise.all(Array.from({ length: readers }, (_, r) => cache.get("seg/big", { range: { ...rangeOf(OPS + i), offset: rangeOf(OPS + i).offset + r * 100 } }))),
        (i) => Promise.all(Array.from({ length: readers }, (_, r) => slow.get("seg/big", { range: { ...rangeOf(OPS + i), offset: rangeOf(OPS + i).offset + r * 100 } }))),
      ),
    );
    console.log(
      `${"".padEnd(22)} inner GETs for ${concurrentRounds} x ${readers} cold reads: ${cache.stats().innerFetches - before} (shared ${cache.stats().sharedFetches})`,
    );

    const fast = new CachingStorage(local, options);
    for (let i = 0; i < OPS; i++) await fast.get("seg/big", { range: rangeOf(i) });
    report(
      "warm memory, 0 ms",
      "cached (memory)",
      "LocalFsStorage ranged read",
      await compare(OPS * 4, 6, (i) => fast.get("seg/big", { range: rangeOf(i % OPS) }), (i) => local.get("seg/big", { range: rangeOf(i % OPS) })),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCache();
