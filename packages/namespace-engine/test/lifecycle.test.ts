import { describe, expect, it } from "vitest";
import {
  isInvalidArgument,
  isNamespaceExists,
  isNamespaceNotFound,
  isVersionConflict,
  isVersionNotFound,
  manifestPrefix,
  namespacePath,
  namespaceRoot,
} from "@skerry/namespace-engine";
import { allKeys, errorOf, makeEngine, memoryEngine, vec } from "./support/harness.ts";

const NS = "acme/search/docs";
const path = namespacePath("acme", "search", "docs");

describe("namespace lifecycle", () => {
  it("creates a namespace at version 1 with its metric and labels", async () => {
    const { engine } = memoryEngine();
    const info = await engine.createNamespace(NS, { distanceMetric: "dot", labels: { team: "search" } });
    expect(info).toMatchObject({
      path: NS,
      version: 1,
      docCount: 0,
      logBatches: 0,
      segments: 0,
      bytes: 0,
      distanceMetric: "dot",
      vectorDimension: undefined,
      labels: { team: "search" },
    });
    expect(await engine.getNamespace(NS)).toEqual(info);
  });

  it("refuses to create a namespace that exists, also from another engine", async () => {
    const { storage, engine } = memoryEngine();
    await engine.createNamespace(NS);
    expect(isNamespaceExists(await errorOf(engine.createNamespace(NS)))).toBe(true);
    expect(isNamespaceExists(await errorOf(makeEngine(storage).createNamespace(NS)))).toBe(true);
  });

  it("lets exactly one of many racing creators win", async () => {
    const { storage } = memoryEngine();
    const engines = Array.from({ length: 6 }, () => makeEngine(storage));
    const outcomes = await Promise.allSettled(engines.map((e) => e.createNamespace(NS)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").every((o) => isNamespaceExists((o as PromiseRejectedResult).reason))).toBe(true);
  });

  it("validates creation options", async () => {
    const { engine } = memoryEngine();
    expect(isInvalidArgument(await errorOf(engine.createNamespace(NS, { distanceMetric: "hamming" as never })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.createNamespace(NS, { labels: { "": "x" } })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.createNamespace("acme/../docs")))).toBe(true);
  });

  it("reports NamespaceNotFound for reads and writes of a missing namespace", async () => {
    const { engine } = memoryEngine();
    expect(isNamespaceNotFound(await errorOf(engine.getNamespace(NS)))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.get(NS, ["a"])))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.upsert(NS, [{ id: "a" }])))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.deleteNamespace(NS)))).toBe(true);
  });

  it("lists the live namespaces of a project, sorted", async () => {
    const { engine } = memoryEngine();
    for (const name of ["zeta", "alpha", "mid"]) await engine.createNamespace(`acme/search/${name}`);
    await engine.createNamespace("acme/other/alpha");
    await engine.deleteNamespace("acme/search/mid");
    expect(await engine.listNamespaces("acme", "search")).toEqual(["alpha", "zeta"]);
    expect(await engine.listNamespaces("acme", "nothing")).toEqual([]);
  });

  it("updates labels in a new version, conditionally with ifVersion", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { labels: { a: "1" } });
    const info = await engine.updateLabels(NS, { b: "2" });
    expect(info).toMatchObject({ version: 2, labels: { b: "2" } });
    const conflict = await errorOf(engine.updateLabels(NS, { c: "3" }, { ifVersion: 1 }));
    expect(isVersionConflict(conflict)).toBe(true);
    expect(conflict).toMatchObject({ expected: 1, actual: 2 });
    expect((await engine.getNamespace(NS, { atVersion: 1 })).labels).toEqual({ a: "1" });
  });

  it("keeps versions strictly increasing and every version readable with atVersion", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    const versions: number[] = [];
    for (let i = 0; i < 5; i++) versions.push((await engine.upsert(NS, [{ id: `d${i}`, attributes: { i } }])).version);
    versions.push((await engine.delete(NS, ["d0"])).version);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7]);
    expect(await engine.listVersions(NS)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await engine.documents(NS, { atVersion: 1 })).map((d) => d.id)).toEqual([]);
    expect((await engine.documents(NS, { atVersion: 3 })).map((d) => d.id)).toEqual(["d0", "d1"]);
    expect((await engine.documents(NS, { atVersion: 6 })).map((d) => d.id)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual(["d1", "d2", "d3", "d4"]);
    // An older version after a newer one was cached still reads its own state.
    expect((await engine.get(NS, ["d0"], { atVersion: 2 }))[0]).toMatchObject({ id: "d0", attributes: { i: 0 } });
    expect(isVersionNotFound(await errorOf(engine.get(NS, ["d0"], { atVersion: 99 })))).toBe(true);
  });

  it("deletes a namespace: a final deleted version, then its objects and older manifests", async () => {
    const { storage, engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", vector: vec(1, 2) }]);
    await engine.upsert(NS, [{ id: "b", vector: vec(3, 4) }]);
    const other = makeEngine(storage);
    await other.get(NS, ["a"]); // caches version 3 in another engine
    const result = await engine.deleteNamespace(NS);
    expect(result).toMatchObject({ version: 4, alreadyDeleted: false });
    expect(await allKeys(storage, `${namespaceRoot(path)}/`)).toEqual(await allKeys(storage, manifestPrefix(path)));
    expect(await engine.listVersions(NS)).toEqual([4]);
    expect(isNamespaceNotFound(await errorOf(engine.get(NS, ["a"])))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.get(NS, ["a"], { atVersion: 3 })))).toBe(true);
    // A writer holding the old base fails cleanly instead of resurrecting the namespace.
    expect(isNamespaceNotFound(await errorOf(other.upsert(NS, [{ id: "c" }])))).toBe(true);
    expect(await engine.deleteNamespace(NS)).toMatchObject({ version: 4, alreadyDeleted: true });
  });

  it("re-creates a deleted namespace with the next version and none of the old documents", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { distanceMetric: "euclidean" });
    await engine.upsert(NS, [{ id: "old", vector: vec(1, 2, 3) }]);
    await engine.deleteNamespace(NS);
    const info = await engine.createNamespace(NS);
    expect(info).toMatchObject({ version: 4, docCount: 0, distanceMetric: "cosine", vectorDimension: undefined });
    await engine.upsert(NS, [{ id: "new", vector: vec(1, 2) }]);
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual(["new"]);
    expect(await engine.listNamespaces("acme", "search")).toEqual(["docs"]);
  });

  it("reports info: documents, containers, bytes, dimension and timestamps", async () => {
    const { engine } = memoryEngine();
    const created = await engine.createNamespace(NS);
    await engine.upsert(NS, [
      { id: "a", vector: vec(1, 0, 0) },
      { id: "b", vector: vec(0, 1, 0) },
    ]);
    await engine.delete(NS, ["a"]);
    const info = await engine.getNamespace(NS);
    expect(info).toMatchObject({ version: 3, docCount: 1, logBatches: 2, segments: 0, vectorDimension: 3, parent: undefined });
    expect(info.bytes).toBeGreaterThan(0);
    expect(info.createdAt).toBe(created.createdAt);
    expect(info.updatedAt).toBeGreaterThan(info.createdAt);
  });
});
