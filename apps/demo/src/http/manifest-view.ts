/**
 * A manifest as the API shows it: the stored manifest in camelCase JSON
 * (ids as 32-hex strings), each container with its kind, rows and bytes in
 * fold order and, when it has a tombstone sidecar, how many of its rows the
 * sidecar hides (read and decoded here; a sidecar that is gone or does not
 * decode leaves `tombstonedRows` absent and names the reason in
 * `tombstonesError`, so one bad object never hides the rest of the picture).
 * A write batch carried by a manifest shows `carrierVersion`, the version
 * whose manifest holds its bytes (its `key` is where they move once that
 * version expires; the bytes are not repeated here).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeTombstoneSidecar, type Manifest } from "@skerry/wal-format";

/** Sidecars read at once for one manifest. */
const SIDECAR_CONCURRENCY = 8;

export interface ContainerView {
  id: string;
  kind: "LOG_BATCH" | "SEGMENT";
  key: string;
  rowCount: number;
  byteSize: number;
  contentHash: string;
  tombstonesKey?: string;
  /** The manifest version that carries this batch's bytes (absent: the object at `key` holds them). */
  carrierVersion?: number;
  tombstonedRows?: number;
  tombstonesError?: string;
}

export interface ManifestView {
  namespace: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  deletedAt?: number;
  parent?: { namespace: string; version: number };
  vector?: { metric: string; dimension?: number };
  rowIdHighWater: string;
  recentWrites: number;
  labels: Record<string, string>;
  containers: ContainerView[];
}

async function tombstones(storage: StorageProvider, view: ContainerView): Promise<void> {
  if (view.tombstonesKey === undefined) return;
  try {
    const sidecar = decodeTombstoneSidecar((await storage.get(view.tombstonesKey)).bytes);
    view.tombstonedRows = sidecar.positions.length;
  } catch (error) {
    view.tombstonesError = (error as { code?: unknown }).code === "NotFound" ? "sidecar not found" : (error as Error).message;
  }
}

export async function manifestView(storage: StorageProvider, manifest: Manifest): Promise<ManifestView> {
  const containers: ContainerView[] = manifest.containers.map((c) => ({
    id: c.id,
    kind: c.kind,
    key: c.key,
    rowCount: c.rowCount,
    byteSize: c.byteSize,
    contentHash: c.contentHash,
    ...(c.tombstonesKey === undefined ? {} : { tombstonesKey: c.tombstonesKey }),
    ...(c.carrierVersion === undefined ? {} : { carrierVersion: c.carrierVersion }),
  }));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SIDECAR_CONCURRENCY, containers.length) }, async () => {
      while (next < containers.length) await tombstones(storage, containers[next++]!);
    }),
  );
  return {
    namespace: manifest.namespace,
    version: manifest.version,
    createdAt: manifest.createdAt,
    updatedAt: manifest.updatedAt,
    ...(manifest.deletedAt === undefined ? {} : { deletedAt: manifest.deletedAt }),
    ...(manifest.parent === undefined ? {} : { parent: { ...manifest.parent } }),
    ...(manifest.vector === undefined
      ? {}
      : { vector: { metric: manifest.vector.metric, ...(manifest.vector.dimension === undefined ? {} : { dimension: manifest.vector.dimension }) } }),
    rowIdHighWater: manifest.rowIdHighWater.toString(16).padStart(32, "0"),
    recentWrites: manifest.recentWrites.length,
    labels: Object.fromEntries(manifest.labels),
    containers,
  };
}
