import { describe, expect, it } from "vitest";
import { encodeManifest, encodeTombstoneSidecar } from "@skerry/wal-format";
import { manifestKey, namespacePath, tombstonesKey } from "@skerry/namespace-engine";
import { memoryEngine } from "./support/harness.ts";

const NS = "acme/search/docs";
const path = namespacePath("acme", "search", "docs");

describe("tombstone sidecars (the seam for deleteByFilter)", () => {
  it("delete the document whose current row is tombstoned, without resurrecting its older version", async () => {
    const { storage, engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", attributes: { v: 1 } }, { id: "b" }]);
    await engine.upsert(NS, [{ id: "a", attributes: { v: 2 } }]);
    const location = await engine.withState(NS, {}, (state) => state.locate("a"));
    const base = await engine.manifest(NS);
    expect(location).toMatchObject({ containerId: base.containers[1]?.id, position: 0 });
    // What the wal-engine pipeline will do: set the bit in the sidecar, and the manifest names the sidecar.
    const sidecar = tombstonesKey(path, location?.containerId as string);
    const { etag } = await storage.put(sidecar, encodeTombstoneSidecar({ positions: [location?.position as number] }));
    // A ref with an etag and no snapshot (published before snapshots existed) folds the live sidecar.
    // The next version keeps a carried batch's ref without its bytes (they stay in their carrier).
    const containers = base.containers.map(({ inline: _bytes, ...c }) =>
      c.id === location?.containerId ? { ...c, tombstonesKey: sidecar, extra: { tombstones_etag: etag } } : c,
    );
    const next = { ...base, version: base.version + 1, containers };
    await storage.put(manifestKey(path, next.version), encodeManifest(next), { mode: { kind: "create" } });

    expect(await engine.get(NS, ["a", "b"])).toEqual([null, { id: "b" }]);
    expect(await engine.get(NS, ["a"], { atVersion: base.version })).toEqual([{ id: "a", attributes: { v: 2 } }]);
    await engine.upsert(NS, [{ id: "a", attributes: { v: 3 } }]);
    expect(await engine.get(NS, ["a"])).toEqual([{ id: "a", attributes: { v: 3 } }]);
  });
});
