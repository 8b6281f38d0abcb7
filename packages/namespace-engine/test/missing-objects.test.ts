/**
 * Every object a manifest references must exist: a container (log batch,
 * segment), a segment's query index, a published tombstone snapshot
 * (`.tsnap`), and a live tombstone sidecar (`.tombstones`) whose etag the
 * manifest recorded. One deleted behind the engine's back is corruption
 * (`CorruptError` naming the key), never "nothing there": before this rule a
 * missing snapshot read as "no tombstones" and every deleted document came
 * back in get, scan, query and docCount, and a missing live sidecar let a
 * compaction write the deleted rows into its segment for good.
 *
 * Runs on memory, local-fs and (when S3_ENDPOINT is set) the real S3 server.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalFsStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { buildFixture, engineOn, type Fixture, NS } from "./support/corruption-fixture.ts";

const s3 = s3TestTarget("namespace-engine-missing-objects");
afterAll(() => s3.cleanup());

type Operation = "get" | "scan" | "query" | "docCount" | "compact" | "deleteByFilter";

async function run(engine: NamespaceEngine, op: Operation, fixture: Fixture): Promise<unknown> {
  switch (op) {
    case "get":
      return engine.get(NS, [...fixture.deleted, ...fixture.live]);
    case "scan":
      return engine.scan(NS, { limit: 1000 });
    case "query":
      return engine.query(NS, { topK: 1000, filters: ["even", "Eq", true] });
    case "docCount":
      return (await engine.getNamespace(NS)).docCount;
    case "compact":
      return engine.compact(NS, { force: true });
    case "deleteByFilter":
      return engine.deleteByFilter(NS, ["even", "Eq", false]);
  }
}

/** Each object kind, and the operations that read it (and so must fail once it is gone). */
const CASES: readonly { readonly object: keyof Fixture["keys"]; readonly ops: readonly Operation[] }[] = [
  { object: "segmentSnapshot", ops: ["get", "scan", "query", "docCount"] },
  { object: "batchSnapshot", ops: ["get", "scan", "query", "docCount"] },
  { object: "segmentSidecar", ops: ["compact", "deleteByFilter"] },
  { object: "batch", ops: ["get", "scan", "query", "docCount", "compact"] },
  { object: "segment", ops: ["get", "scan", "docCount", "compact"] },
  { object: "segmentIndex", ops: ["query"] },
];

async function expectCorrupt(promise: Promise<unknown>, key: string, label: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    expect(isCorrupt(error), `${label}: ${String(error)}`).toBe(true);
    expect((error as { key?: string }).key, label).toBe(key);
    return;
  }
  throw new Error(`${label}: expected CorruptError naming ${key}, got ${JSON.stringify(outcome)?.slice(0, 200)}`);
}

function suite(name: string, open: () => Promise<{ storage: StorageProvider; close?: () => Promise<void> }>, only?: readonly string[]): void {
  describe(`a manifest-referenced object deleted behind the engine's back is corruption (${name})`, () => {
    for (const { object, ops } of CASES) {
      if (only !== undefined && !only.includes(object)) continue;
      it(`missing ${object}: ${ops.join(", ")} fail with CorruptError naming it`, async () => {
        const { storage, close } = await open();
        try {
          const fixture = await buildFixture(storage);
          const key = fixture.keys[object];
          // Writers (compaction, deleteByFilter) also on an engine that opened the namespace (and so ran its
          // recovery, which checks the sidecars) before the object went missing.
          const opened = engineOn(storage);
          await opened.openNamespace(NS);
          await storage.delete(key);
          for (const op of ops) {
            await expectCorrupt(run(engineOn(storage), op, fixture), key, `${object} / ${op}`);
            // (Only for the sidecar: for other objects a fresh engine's failed compaction holds its seals until its
            // lease expires, so a second compaction there reports "not performed" rather than reading anything.)
            if (object === "segmentSidecar") await expectCorrupt(run(opened, op, fixture), key, `${object} / ${op} (opened before)`);
          }
          // Nothing resurrected: a read that does not need the object still answers without the deleted documents.
          if (!ops.includes("get")) {
            const got = await engineOn(storage).get(NS, fixture.deleted as string[]);
            expect(got.every((d) => d === null)).toBe(true);
          }
        } finally {
          await close?.();
        }
      });
    }
  });
}

suite("memory", async () => ({ storage: new MemoryStorage() }));
suite("local-fs", async () => {
  const root = await mkdtemp(join(tmpdir(), "skerry-missing-"));
  return { storage: new LocalFsStorage({ root }), close: () => rm(root, { recursive: true, force: true }) };
});
describe.skipIf(!s3.shouldRun)("on the real S3 server", () => {
  let n = 0;
  suite("s3", async () => ({ storage: s3.open(`case-${n++}/`) }), ["segmentSnapshot", "segmentSidecar", "batch"]);
});
