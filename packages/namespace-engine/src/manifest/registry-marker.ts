/**
 * The registry marker of a namespace (`<org>/<project>/_project/namespaces/<namespace>`):
 * its key makes `listNamespaces` one LIST per project; its body is JSON
 * `{"namespace": "org/project/ns", "version_high_water"?: n}`.
 *
 * `version_high_water` is a manifest version the namespace is known to have
 * reached (a lower bound of its latest version: versions never decrease).
 * It is raised (etag CAS, never lowered) off the commit path: by manifest
 * GC (after every compaction) and by repair. A process reading a namespace
 * for the first time compares it with the newest listed manifest: a lower
 * latest means the newest manifests were deleted (ManifestRollbackError).
 * Markers written before the field existed, or unreadable ones, record no
 * high water (they are advisory: never a reason to fail a read).
 * `registerNamespace` (create, branch, copy) puts the marker only when it is
 * absent, so re-creating a name keeps its high water.
 */
import { isAlreadyExists, type StorageProvider } from "@skerry/storage-providers";
import type { Random } from "@skerry/wal-format";
import { formatNamespacePath, type NamespacePath, registryKey, type RetryPolicy, withRetry } from "../core/index.ts";

/** Puts the registry marker of `path` unless one exists (create-only; an existing one keeps its high water). */
export async function registerNamespace(storage: StorageProvider, retry: RetryPolicy, random: Random, path: NamespacePath): Promise<void> {
  const name = formatNamespacePath(path);
  await withRetry(`register ${name}`, retry, random, async () => {
    try {
      await storage.put(registryKey(path), encodeRegistryMarker(name), { mode: { kind: "create" } });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  });
}

/** The marker body for `namespace`, with its high water when known. */
export function encodeRegistryMarker(namespace: string, versionHighWater?: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(versionHighWater === undefined ? { namespace } : { namespace, version_high_water: versionHighWater }));
}

/** The high water a marker body records, or undefined (none, or not a marker this version understands). */
export function registryMarkerHighWater(bytes: Uint8Array): number | undefined {
  try {
    const body: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof body !== "object" || body === null || !Object.hasOwn(body, "version_high_water")) return undefined;
    const value = (body as { version_high_water: unknown }).version_high_water;
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
  } catch {
    return undefined;
  }
}
