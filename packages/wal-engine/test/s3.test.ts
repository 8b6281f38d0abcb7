/**
 * wal-engine against a real S3 server (Ceph RGW on loopback in CI and under
 * scripts/s3/with-s3.sh).
 *
 * Runs whenever S3_ENDPOINT is set. Without it: fails loudly under CI (a CI
 * that silently skips S3 proves nothing), skips with a note elsewhere.
 */
import { FaultInjectingStorage } from "@skerry/storage-providers";
import { WalStore } from "@skerry/wal-engine";
import { afterEach, describe, expect, it } from "vitest";
import {
  auditCompleteWal,
  LEASE_MS,
  makeEngine,
  ManualClock,
  newRowsFor,
  s3Configured,
  s3Provider,
  seededRowId,
  seedTable,
  T0,
} from "./support/fixtures.ts";
import { twoHandlesSweepTheSameWals } from "./support/scenarios.ts";
import { TestTable } from "./support/test-table.ts";

const inCi = Boolean(process.env["CI"]);

if (!s3Configured && inCi) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error(
        "S3 is not configured in CI: S3_ENDPOINT missing (start one with scripts/s3/start-s3.sh and eval its exports)",
      );
    });
  });
} else if (!s3Configured) {
  console.log("[s3] S3_ENDPOINT not set: skipping the wal-engine S3 suites (run them with scripts/s3/with-s3.sh pnpm test)");
}

describe.skipIf(!s3Configured)("wal-engine on S3", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  async function s3() {
    const { storage, cleanup } = await s3Provider.create();
    cleanups.push(cleanup);
    return storage;
  }

  it("UPDATE and DELETE run to COMPLETE on S3", async () => {
    const storage = await s3();
    const table = await seedTable(storage, "ns", 2, 8);
    const engine = makeEngine({ storage, table, clock: new ManualClock(T0), seed: 1, root: "ns" });
    const t = [seededRowId(0, 1), seededRowId(1, 2)];
    const u = await engine.update({ targets: t, newRows: newRowsFor(t), predicateRepr: "u" });
    const d = await engine.delete({ targets: [seededRowId(0, 3), seededRowId(1, 4)], predicateRepr: "d" });
    const store = new WalStore(storage, { root: "ns" });
    for (const w of [u.walId, d.walId]) await auditCompleteWal(store, new TestTable(storage, "ns"), (await store.read(w)).doc);
  });

  it("two handles sweeping the same WALs at once complete every WAL and corrupt nothing", async () => {
    const storage = await s3();
    await twoHandlesSweepTheSameWals(storage, { deletes: 10, updates: 6, segments: 4, rows: 32, concurrency: 4 });
  });

  it("a mutation whose writes lose their answers (then crash) is finished by recovery on S3", async () => {
    const storage = await s3();
    const table = await seedTable(storage, "ns", 2, 8);
    const t = [seededRowId(0, 5), seededRowId(1, 6)];
    // Every conditional write's answer is lost once (the write lands), then the process dies at the 9th call.
    const faulty = new FaultInjectingStorage(storage)
      .failWhen((c) => c.op === "put" && c.seq < 9, { when: "after", times: 4 })
      .failCall(9, { when: "after", crash: true });
    const engine = makeEngine({ storage: faulty, table: new TestTable(faulty, "ns"), clock: new ManualClock(T0), seed: 4, root: "ns" });
    await expect(engine.update({ targets: t, newRows: newRowsFor(t), predicateRepr: "u" })).rejects.toThrow();
    const clock = new ManualClock(T0 + LEASE_MS + 1);
    const report = await makeEngine({ storage, table: new TestTable(storage, "ns"), clock, seed: 5, root: "ns" }).scanAndRecover();
    expect(report.errors).toEqual([]);
    expect(report.fullPipelineCompleted + report.tombstoneOnlyCompleted).toBe(1);
    const store = new WalStore(storage, { root: "ns" });
    const [w] = await store.listWalIds();
    await auditCompleteWal(store, table, (await store.read(w as never)).doc);
  });
});
