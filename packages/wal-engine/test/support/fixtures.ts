/**
 * Shared test fixtures: a manual clock, deterministic engines, seeded
 * tables, provider factories (memory, local-fs, S3 when configured) and an
 * auditor that checks the end state of WALs against the table.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { LocalFsStorage, MemoryStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import {
  type Clock,
  decodeRowBatch,
  handleId,
  hasPosition,
  IdGenerator,
  type MutationState,
  type RowDocumentInput,
  type RowId,
  rowId,
  seededRandom,
} from "@skerry/wal-format";
import { type RetryPolicy, type WalEngineOptions, type WalEvent, WalEngine, type WalStore } from "@skerry/wal-engine";
import { expect } from "vitest";
import { TestTable } from "./test-table.ts";

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): this {
    this.t += ms;
    return this;
  }
}

/** A fixed start of time for a test file, so runs compare. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const LEASE_MS = 30_000;
export const FAST_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 1, maxDelayMs: 4 };
export const noSleep = async () => {};

export interface EngineSetup {
  storage: StorageProvider;
  table: TestTable;
  clock: ManualClock;
  /** Seeds randomness and the id generator's worker id. */
  seed: number;
  handle?: bigint;
  root?: string;
  events?: WalEvent[];
  extra?: Partial<WalEngineOptions>;
}

export function makeEngine(setup: EngineSetup): WalEngine {
  const { storage, table, clock, seed } = setup;
  return new WalEngine({
    storage,
    root: setup.root ?? "",
    table,
    clock,
    random: seededRandom(seed),
    jitter: seededRandom(seed ^ 0x5eed),
    idGenerator: new IdGenerator({ clock, workerId: seed & 0xffff }),
    handleId: handleId(setup.handle ?? BigInt(seed) + 0xabc000n),
    leaseMs: LEASE_MS,
    retryPolicy: FAST_RETRY,
    relocatePolicy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
    sleep: noSleep,
    ...(setup.events === undefined ? {} : { onEvent: (event: WalEvent) => setup.events?.push(event) }),
    ...setup.extra,
  });
}

/** Row `i` of segment `s`: deterministic ids far from anything the id generator mints. */
export function seededRowId(segment: number, i: number): RowId {
  return rowId(BigInt(segment) * 1_000_000n + BigInt(i) + 1n);
}

export function seededRows(segment: number, count: number): RowDocumentInput[] {
  return Array.from({ length: count }, (_, i) => ({
    rowId: seededRowId(segment, i),
    id: `doc-${segment}-${i}`,
    vector: [segment, i, 0.5],
    attributes: { segment, i },
  }));
}

export const segmentName = (s: number) => `00000000-0000-4000-8000-${String(s).padStart(12, "0")}`;

/** Seeds `segments` segments of `rows` rows each; returns the table. */
export async function seedTable(storage: StorageProvider, root: string, segments: number, rows: number): Promise<TestTable> {
  const table = new TestTable(storage, root);
  for (let s = 0; s < segments; s++) await table.seedSegment(segmentName(s), seededRows(s, rows));
  return table;
}

export function newRowsFor(targets: readonly RowId[], tag = "v2") {
  return targets.map((t, i) => ({ id: `updated-${t.toString(16)}-${tag}`, vector: [i, 1, 2], attributes: { tag } }));
}

export interface ProviderTarget {
  name: string;
  create: () => Promise<{ storage: StorageProvider; cleanup: () => Promise<void> }>;
}

export const s3Configured = Boolean(process.env["S3_ENDPOINT"]);

export const memoryProvider: ProviderTarget = {
  name: "memory",
  create: async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }),
};

export const localFsProvider: ProviderTarget = {
  name: "local-fs",
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), "wal-engine-test-"));
    return { storage: new LocalFsStorage({ root: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
};

const RUN = `skerry-tests/wal-engine/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;

export const s3Provider: ProviderTarget = {
  name: "s3",
  create: async () => {
    const storage = S3Storage.fromEnv(process.env, { prefix: `${RUN}/${randomUUID().slice(0, 8)}/` });
    return {
      storage,
      cleanup: async () => {
        const keys: string[] = [];
        for await (const meta of storage.list("")) keys.push(meta.key);
        await Promise.all(keys.map((k) => storage.delete(k)));
        storage.close();
      },
    };
  },
};

export async function listKeys(storage: StorageProvider, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const meta of storage.list(prefix)) keys.push(meta.key);
  return keys;
}

/**
 * Checks that a WAL's end state is consistent with the table:
 * COMPLETE, no lease, every target TOMBSTONED (its bit set in the segment
 * the doc names, which holds the row) or NOT_FOUND; for UPDATE, the segment
 * is committed exactly once and its bytes equal the sidecar's rows.
 */
export async function auditCompleteWal(store: WalStore, table: TestTable, doc: MutationState): Promise<void> {
  expect(doc.state).toBe("COMPLETE");
  expect(doc.lease).toBeUndefined();
  const manifest = await table.readManifest();
  const live = new Set(manifest.segments.map((s) => s.id));
  const located = await table.locateRows(doc.targetIds);
  for (const entry of doc.tombstoneProgress) {
    expect(entry.outcome).not.toBe("PENDING");
    if (entry.outcome === "TOMBSTONED") {
      const segmentId = entry.tombstonedInSuperfile as string;
      expect(live.has(segmentId)).toBe(true);
      const at = located.get(entry.targetId);
      expect(at?.segmentId).toBe(segmentId);
      const sidecar = await store.getTombstones(segmentId);
      expect(sidecar).not.toBeNull();
      expect(hasPosition(sidecar?.sidecar.positions ?? new Uint32Array(), at?.position ?? -1)).toBe(true);
    }
  }
  if (doc.opKind === "UPDATE") {
    expect(manifest.segments.filter((s) => s.id === doc.preallocatedSuperfileId)).toHaveLength(1);
    const { bytes } = await table.storage.get(table.segmentKey(doc.preallocatedSuperfileId));
    const rows = decodeRowBatch(bytes);
    expect(rows).toHaveLength(doc.newRowCount);
  }
}
