/**
 * Wrong bytes in an object a manifest references surface under ONE code,
 * `Corrupt` (`isCorrupt`), naming the key, whoever detects them: the engine
 * (a hash, size or name that does not match the manifest, bytes that do
 * not decode), the wal-engine (a tombstone sidecar that does not decode,
 * read while sealing or tombstoning), or the storage provider (its own
 * checksum: LocalFsStorage's CRC-32, raised as a storage `Corrupt`). Before,
 * the same fault came up as `Storage`, `Codec` or `Corrupt` depending on
 * who saw it, and a tombstone snapshot replaced by a valid but different
 * one was read as if nothing were wrong.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CorruptError as StorageCorruptError, FaultInjectingStorage, LocalFsStorage, MemoryStorage } from "@skerry/storage-providers";
import { encodeTombstoneSidecar } from "@skerry/wal-format";
import { isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { buildFixture, engineOn, type Fixture, NS } from "./support/corruption-fixture.ts";

type Operation = "get" | "scan" | "query" | "docCount" | "compact" | "deleteByFilter";

function run(engine: NamespaceEngine, op: Operation, fixture: Fixture): Promise<unknown> {
  switch (op) {
    case "get":
      return engine.get(NS, [...fixture.deleted, ...fixture.live]);
    case "scan":
      return engine.scan(NS, { limit: 1000 });
    case "query":
      return engine.query(NS, { topK: 1000, filters: ["even", "Eq", true] });
    case "docCount":
      return engine.getNamespace(NS).then((info) => info.docCount);
    case "compact":
      return engine.compact(NS, { force: true });
    case "deleteByFilter":
      return engine.deleteByFilter(NS, ["even", "Eq", false]);
  }
}

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

/** `bytes` with one byte flipped in the middle. */
function flipped(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const at = Math.floor(out.length / 2);
  out[at] = (out[at] as number) ^ 0xff;
  return out;
}

const READS: readonly Operation[] = ["get", "scan", "query", "docCount"];

/** How each kind of object is damaged, and the operations that read it. */
const EDITS: readonly {
  readonly object: keyof Fixture["keys"];
  readonly how: string;
  readonly bytes: (old: Uint8Array) => Uint8Array;
  readonly ops: readonly Operation[];
}[] = [
  // A valid sidecar, just not the published one: only the snapshot's name (hash of bytes + etag) tells.
  { object: "segmentSnapshot", how: "replaced by a valid empty sidecar", bytes: () => encodeTombstoneSidecar({ positions: [] }), ops: READS },
  { object: "batchSnapshot", how: "replaced by a valid empty sidecar", bytes: () => encodeTombstoneSidecar({ positions: [] }), ops: READS },
  { object: "segmentSnapshot", how: "a byte flipped", bytes: flipped, ops: READS },
  { object: "segmentSidecar", how: "truncated", bytes: (old) => old.subarray(0, old.length - 3), ops: ["compact", "deleteByFilter"] },
  { object: "batch", how: "a byte flipped", bytes: flipped, ops: [...READS, "compact"] },
  { object: "segment", how: "a byte flipped", bytes: flipped, ops: ["get", "scan", "docCount", "compact"] },
  { object: "segmentIndex", how: "a byte flipped", bytes: flipped, ops: ["query"] },
];

describe("wrong bytes in a manifest-referenced object are one Corrupt error naming the key", () => {
  for (const { object, how, bytes, ops } of EDITS) {
    it(`${object} ${how}: ${ops.join(", ")} fail with CorruptError naming it`, async () => {
      const storage = new MemoryStorage();
      const fixture = await buildFixture(storage);
      const key = fixture.keys[object];
      const opened = engineOn(storage);
      await opened.openNamespace(NS);
      await storage.put(key, bytes((await storage.get(key)).bytes));
      for (const op of ops) await expectCorrupt(run(engineOn(storage), op, fixture), key, `${object} / ${op}`);
      if (object === "segmentSidecar") {
        for (const op of ops) await expectCorrupt(run(opened, op, fixture), key, `${object} / ${op} (opened before)`);
      }
    });
  }
});

describe("a storage provider's own corruption check (storage Corrupt) is the engine's Corrupt", () => {
  // What LocalFsStorage raises when an object's CRC-32 does not match its header.
  const CASES: readonly { readonly object: keyof Fixture["keys"]; readonly ops: readonly Operation[] }[] = [
    { object: "segmentSnapshot", ops: READS },
    { object: "segmentSidecar", ops: ["compact", "deleteByFilter"] },
    { object: "batch", ops: [...READS, "compact"] },
    { object: "segment", ops: ["get", "scan", "docCount", "compact"] },
    { object: "segmentIndex", ops: ["query"] },
  ];
  for (const { object, ops } of CASES) {
    it(`${object} failing the provider's checksum: ${ops.join(", ")} fail with CorruptError naming it`, async () => {
      const memory = new MemoryStorage();
      const fixture = await buildFixture(memory);
      const key = fixture.keys[object];
      const checking = new FaultInjectingStorage(memory).failWhen((call) => call.op === "get" && call.key === key, {
        error: () => new StorageCorruptError(`object ${key} is corrupt: its CRC-32 does not match its header`, { key }),
        times: Number.POSITIVE_INFINITY,
      });
      // The sidecar is read by the namespace's recovery too (it publishes sidecars): open it before the fault.
      const opened = engineOn(checking);
      if (object === "segmentSidecar") await opened.openNamespace(NS);
      for (const op of ops) {
        const engine = object === "segmentSidecar" ? opened : engineOn(checking);
        await expectCorrupt(run(engine, op, fixture), key, `${object} / ${op}`);
      }
    });
  }
});

describe("bytes edited in a local-fs object file, behind the engine's back, are the engine's Corrupt", () => {
  const CASES: readonly { readonly object: keyof Fixture["keys"]; readonly ops: readonly Operation[] }[] = [
    { object: "segmentSnapshot", ops: READS },
    { object: "batch", ops: [...READS, "compact"] },
    { object: "segment", ops: ["get", "scan", "docCount", "compact"] },
    { object: "segmentIndex", ops: ["query"] },
  ];
  for (const { object, ops } of CASES) {
    it(`${object}: one byte of its file flipped on disk: ${ops.join(", ")} fail with CorruptError naming it`, async () => {
      const root = await mkdtemp(join(tmpdir(), "skerry-corrupt-fs-"));
      try {
        const storage = new LocalFsStorage({ root });
        const fixture = await buildFixture(storage);
        const key = fixture.keys[object];
        // Flip a byte near the end of the file (the object's body, after the provider's header).
        const file = join(root, ...key.split("/"));
        const bytes = await readFile(file);
        const at = bytes.length - 2;
        bytes[at] = (bytes[at] as number) ^ 0x55;
        await writeFile(file, bytes);
        for (const op of ops) await expectCorrupt(run(engineOn(new LocalFsStorage({ root })), op, fixture), key, `${object} / ${op}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
