/**
 * The typed schema (namespace-schema.ts, attribute-typing.ts, write-schema.ts, document-ids.ts): declared and
 * inferred attribute types, evolution, validation of every write at commit, filterable: false, typed ids
 * (uint up to 2^64-1, uuid), and manifests written before the schema existed.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { decodeManifest, encodeManifest } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import {
  documentIdKey,
  documentIdValue,
  MAX_UINT_ID,
  type NamespaceEngine,
  SchemaChangeError,
  SchemaViolationError,
  UnfilterableAttributeError,
} from "@skerry/namespace-engine";
import { manifestKey } from "../src/core/storage-layout.ts";
import { toNamespacePath } from "../src/core/namespace-path.ts";
import { errorOf, indexObjects, makeEngine, memoryEngine } from "./support/harness.ts";

const NS = "acme/schema/docs";

async function ids(engine: NamespaceEngine, request: Record<string, unknown>): Promise<string[]> {
  return (await engine.query(NS, { topK: 100, ...request })).rows.map((r) => r.id);
}

describe("typed schema", () => {
  it("is declared at creation, reported by getNamespace and stored in the manifest", async () => {
    const { engine } = memoryEngine();
    const info = await engine.createNamespace(NS, {
      schema: { idType: "uuid", attributes: { title: "string", tags: { type: "[]string", filterable: false, options: { note: "x" } } } },
    });
    expect(info.schema).toEqual({
      idType: "uuid",
      attributes: { tags: { type: "[]string", filterable: false, options: { note: "x" } }, title: { type: "string", filterable: true } },
    });
    const manifest = await engine.manifest(NS);
    expect(manifest.schema?.attributes.get("title")).toEqual({ type: "string", filterable: true });
    expect((await errorOf(engine.createNamespace("acme/schema/bad", { schema: { attributes: { x: "vector" as never } } }))) as Error).toMatchObject({
      code: "InvalidArgument",
    });
    expect(await errorOf(engine.createNamespace("acme/schema/bad", { schema: { idType: "int" as never } }))).toMatchObject({ code: "InvalidArgument" });
  });

  it("a namespace created without a schema is schemaless: any JSON attributes, string ids", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", attributes: { x: 1 } }]);
    await engine.upsert(NS, [{ id: "b", attributes: { x: "one" } }]);
    expect((await engine.getNamespace(NS)).schema).toBeUndefined();
    expect(await errorOf(engine.upsert(NS, [{ id: 5 }]))).toBeInstanceOf(SchemaViolationError);
  });

  it("infers the types of undeclared attributes and the id type from the first write", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: {} });
    expect((await engine.getNamespace(NS)).schema).toEqual({ idType: undefined, attributes: {} });
    await engine.upsert(NS, [
      { id: "a", attributes: { n: 1, f: 1.5, s: "x", b: true, tags: ["p", "q"], nums: [1, 2.5], obj: { k: 1 }, empty: [] } },
    ]);
    const schema = (await engine.getNamespace(NS)).schema!;
    expect(schema.idType).toBe("string");
    expect(schema.attributes).toEqual({
      b: { type: "bool", filterable: true },
      f: { type: "float", filterable: true },
      n: { type: "int", filterable: true },
      nums: { type: "[]float", filterable: true },
      s: { type: "string", filterable: true },
      tags: { type: "[]string", filterable: true },
    });
  });

  it("refuses a value of another type with a typed error naming the document and attribute; nothing is applied", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { attributes: { count: "uint", when: "datetime" } } });
    const before = await engine.upsert(NS, [{ id: "a", attributes: { count: 1, label: "x" } }]);
    const error = await errorOf(engine.upsert(NS, [{ id: "b", attributes: { count: 2 } }, { id: "c", attributes: { count: -1 } }]));
    expect(error).toBeInstanceOf(SchemaViolationError);
    expect(error).toMatchObject({ code: "InvalidArgument", document: "c", attribute: "count", expected: "uint" });
    // An inferred type is enforced too, at commit.
    const inferred = await errorOf(engine.upsert(NS, [{ id: "d", attributes: { label: 5 } }]));
    expect(inferred).toMatchObject({ code: "InvalidArgument", document: "d", attribute: "label" });
    const patch = await errorOf(engine.patch(NS, [{ id: "a", attributes: { when: "not a date" } }]));
    expect(patch).toMatchObject({ document: "a", attribute: "when", expected: "datetime" });
    const batch = await errorOf(engine.write(NS, { upserts: [{ id: "e", attributes: { count: "many" } }] }));
    expect(batch).toBeInstanceOf(SchemaViolationError);
    const info = await engine.getNamespace(NS);
    expect(info.version).toBe(before.version);
    expect(info.docCount).toBe(1);
    // Integers beyond 2^53 are not exact as numbers: an int attribute refuses them.
    expect(await errorOf(engine.upsert(NS, [{ id: "f", attributes: { count: 2 ** 60 } }]))).toMatchObject({ attribute: "count" });
  });

  it("normalizes datetime values to UTC ISO with milliseconds and uuid values to lower case", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { attributes: { at: "datetime", ref: "uuid", seen: "[]datetime" } } });
    await engine.upsert(NS, [
      { id: "a", attributes: { at: "2024-03-15T14:00:00+01:00", ref: "0191C5F0-0000-7000-8000-00000000000A", seen: ["2024-01-01"] } },
      { id: "b", attributes: { at: "2024-03-15T12:59:59Z" } },
    ]);
    const [a] = await engine.get(NS, ["a"]);
    expect(a?.attributes).toEqual({ at: "2024-03-15T13:00:00.000Z", ref: "0191c5f0-0000-7000-8000-00000000000a", seen: ["2024-01-01T00:00:00.000Z"] });
    expect(await ids(engine, { rankBy: ["at", "asc"] })).toEqual(["b", "a"]);
    expect(await errorOf(engine.upsert(NS, [{ id: "c", attributes: { ref: "nope" } }]))).toMatchObject({ attribute: "ref", expected: "uuid" });
  });

  it("evolves: adds attributes, widens int to float (declared or by a fractional value), refuses other type changes", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { attributes: { price: "int", qty: "int" } } });
    await engine.updateSchema(NS, { attributes: { name: "string" } });
    expect(Object.keys((await engine.getNamespace(NS)).schema!.attributes)).toEqual(["name", "price", "qty"]);
    await engine.updateSchema(NS, { attributes: { price: "float" } });
    await engine.upsert(NS, [{ id: "a", attributes: { qty: 2.5 } }]);
    const { attributes } = (await engine.getNamespace(NS)).schema!;
    expect(attributes["price"]?.type).toBe("float");
    expect(attributes["qty"]?.type).toBe("float");
    const change = await errorOf(engine.updateSchema(NS, { attributes: { name: "int" } }));
    expect(change).toBeInstanceOf(SchemaChangeError);
    expect(change).toMatchObject({ code: "InvalidArgument", attribute: "name", from: "string", to: "int" });
    expect(await errorOf(engine.updateSchema(NS, { attributes: { price: "int" } }))).toBeInstanceOf(SchemaChangeError);
    expect(await errorOf(engine.updateSchema(NS, { idType: "uint" }))).toBeInstanceOf(SchemaChangeError); // fixed by the write
    // filterable may be turned off, not back on; options and filterable kept when omitted.
    await engine.updateSchema(NS, { attributes: { name: { type: "string", filterable: false, options: { a: 1 } } } });
    await engine.updateSchema(NS, { attributes: { name: "string" } });
    expect((await engine.getNamespace(NS)).schema!.attributes["name"]).toEqual({ type: "string", filterable: false, options: { a: 1 } });
    expect(await errorOf(engine.updateSchema(NS, { attributes: { name: { type: "string", filterable: true } } }))).toBeInstanceOf(SchemaChangeError);
    // Conditional like other metadata changes.
    const { version } = await engine.getNamespace(NS);
    expect(await errorOf(engine.updateSchema(NS, { attributes: { z: "bool" } }, { ifVersion: version - 1 }))).toMatchObject({ code: "VersionConflict" });
  });

  it("checks each write of a commit group on its own: a violating write fails alone", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: {} });
    const results = await Promise.allSettled([
      engine.upsert(NS, [{ id: "a", attributes: { x: 1 } }]),
      engine.upsert(NS, [{ id: "b", attributes: { x: "one" } }]),
      engine.upsert(NS, [{ id: "c", attributes: { x: 3 } }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ document: "b", attribute: "x", expected: "int" });
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual(["a", "c"]);
  });

  it("filterable: false refuses filters and ordering, returns the values, and leaves the column's index out of compaction", async () => {
    const sizes: number[] = [];
    for (const filterable of [true, false]) {
      const storage = new MemoryStorage();
      const engine = makeEngine(storage, { compaction: { auto: false } });
      await engine.createNamespace(NS, { schema: { attributes: { body: { type: "string", filterable }, tags: { type: "[]string", filterable }, n: { type: "int", filterable } } } });
      await engine.upsert(
        NS,
        Array.from({ length: 500 }, (_, i) => ({ id: `d${String(i).padStart(4, "0")}`, attributes: { body: `text ${i}`, tags: [`t${i % 7}`, `u${i}`], n: i } })),
      );
      await engine.compact(NS, { force: true });
      sizes.push((await indexObjects(storage)).reduce((sum, o) => sum + o.size, 0));
      const later = makeEngine(storage, { compaction: { auto: false } });
      const rows = (await later.query(NS, { topK: 2, rankBy: ["id", "asc"], includeAttributes: true })).rows;
      expect(rows[0]?.attributes).toEqual({ body: "text 0", n: 0, tags: ["t0", "u0"] });
      if (filterable) {
        expect(await ids(later, { filters: ["n", "Lt", 2] })).toHaveLength(2);
        continue;
      }
      for (const filters of [["n", "Eq", 1], ["And", [["body", "Eq", "x"]]], ["tags", "ContainsAny", ["t1"]], ["Not", ["body", "Exists"]]]) {
        const error = await errorOf(later.query(NS, { topK: 5, filters }));
        expect(error).toBeInstanceOf(UnfilterableAttributeError);
        expect(error).toMatchObject({ code: "InvalidArgument" });
      }
      expect(await errorOf(later.query(NS, { topK: 5, rankBy: ["n", "desc"] }))).toBeInstanceOf(UnfilterableAttributeError);
    }
    expect(sizes[1]).toBeLessThan(sizes[0] as number);
  });

  it("uint ids: integers up to 2^64-1 keyed in numeric order, read back typed", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [
      { id: MAX_UINT_ID, attributes: { v: "max" } },
      { id: 2n ** 53n + 1n, attributes: { v: "big" } },
      { id: 7, attributes: { v: "seven" } },
    ]);
    const info = await engine.getNamespace(NS);
    expect(info.schema).toEqual({ idType: "uint", attributes: { v: { type: "string", filterable: true } } });
    const docs = await engine.documents(NS);
    expect(docs.map((d) => documentIdValue(d.id, info.schema?.idType))).toEqual([7n, 2n ** 53n + 1n, MAX_UINT_ID]);
    expect(docs[2]?.id).toBe("18446744073709551615");
    expect((await engine.get(NS, [MAX_UINT_ID, 7, 8n])).map((d) => d?.attributes?.["v"] ?? null)).toEqual(["max", "seven", null]);
    expect(await ids(engine, { filters: ["id", "Gte", documentIdKey(2n ** 53n)] })).toEqual([documentIdKey(2n ** 53n + 1n), documentIdKey(MAX_UINT_ID)]);
    expect(await errorOf(engine.upsert(NS, [{ id: MAX_UINT_ID + 1n }]))).toMatchObject({ code: "InvalidArgument" });
    expect(await errorOf(engine.upsert(NS, [{ id: -1 }]))).toMatchObject({ code: "InvalidArgument" });
    expect(await errorOf(engine.upsert(NS, [{ id: "abc" }]))).toMatchObject({ code: "InvalidArgument", document: "abc", attribute: "id", expected: "uint" });
    expect(await errorOf(engine.upsert(NS, [{ id: "99999999999999999999" }]))).toBeInstanceOf(SchemaViolationError); // above 2^64-1
    await engine.upsert(NS, [{ id: "00000000000000000009" }]); // a key is an id too
    await engine.upsert(NS, [{ id: "12", attributes: { v: "digits" } }]); // and so are digits
    expect((await engine.get(NS, ["12", 12, "00000000000000000012"])).map((d) => d?.id)).toEqual(Array(3).fill(documentIdKey(12)));
    await engine.delete(NS, ["12"]);
    await engine.delete(NS, [MAX_UINT_ID, 9]);
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual([documentIdKey(7), documentIdKey(2n ** 53n + 1n)]);
    // Mixed kinds in the first write of a namespace are refused.
    await engine.createNamespace("acme/schema/mixed", { schema: {} });
    expect(await errorOf(engine.upsert("acme/schema/mixed", [{ id: 1 }, { id: "x" }]))).toBeInstanceOf(SchemaViolationError);
  });

  it("uuid ids: declared; accepted in any case, keyed lower case; others refused", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { idType: "uuid" } });
    await engine.upsert(NS, [{ id: "0191C5F0-0000-7000-8000-00000000000A" }]);
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual(["0191c5f0-0000-7000-8000-00000000000a"]);
    expect((await engine.get(NS, ["0191C5F0-0000-7000-8000-00000000000A"]))[0]?.id).toBe("0191c5f0-0000-7000-8000-00000000000a");
    expect(await errorOf(engine.upsert(NS, [{ id: "not-a-uuid" }]))).toMatchObject({ document: "not-a-uuid", attribute: "id", expected: "uuid" });
    expect(await errorOf(engine.upsert(NS, [{ id: 5 }]))).toBeInstanceOf(SchemaViolationError);
    // A string namespace refuses integer ids.
    await engine.createNamespace("acme/schema/strings", { schema: { idType: "string" } });
    await engine.upsert("acme/schema/strings", [{ id: "a" }]);
    expect(await errorOf(engine.upsert("acme/schema/strings", [{ id: 5 }]))).toBeInstanceOf(SchemaViolationError);
  });

  it("reads manifests written before the schema existed: schemaless, string ids; a schema declared later applies from then on", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { compaction: { auto: false } });
    await engine.createNamespace(NS, { schema: {} });
    const { version } = await engine.upsert(NS, [{ id: "a", attributes: { x: 1 } }]);
    // Rewrite the latest manifest as an older writer would have written it: no schema field.
    const key = manifestKey(toNamespacePath(NS), version);
    const old = decodeManifest((await storage.get(key)).bytes);
    expect(old.schema).toBeDefined();
    const { schema: _, ...legacy } = old;
    expect(new TextDecoder().decode(encodeManifest(legacy))).not.toContain('"schema"');
    await storage.put(key, encodeManifest(legacy));
    const reader = makeEngine(storage, { compaction: { auto: false } });
    expect((await reader.getNamespace(NS)).schema).toBeUndefined();
    expect(await errorOf(reader.upsert(NS, [{ id: 5 }]))).toBeInstanceOf(SchemaViolationError); // its ids are strings
    await reader.upsert(NS, [{ id: "b", attributes: { x: "text" } }]); // untyped
    expect(await errorOf(reader.updateSchema(NS, { idType: "uint" }))).toBeInstanceOf(SchemaChangeError);
    await reader.updateSchema(NS, { attributes: { y: "bool" } });
    await reader.upsert(NS, [{ id: "c", attributes: { x: 2, z: "new" } }]);
    expect((await reader.getNamespace(NS)).schema).toEqual({
      idType: undefined,
      attributes: { x: { type: "int", filterable: true }, y: { type: "bool", filterable: true }, z: { type: "string", filterable: true } },
    });
    expect(await errorOf(reader.upsert(NS, [{ id: "d", attributes: { y: 1 } }]))).toMatchObject({ attribute: "y" });
    expect(await errorOf(reader.upsert(NS, [{ id: 6 }]))).toBeInstanceOf(SchemaViolationError);
  });

  it("uint or uuid ids may be declared on a namespace with rows and no id type when every live id fits", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: documentIdKey(5) }, { id: documentIdKey(MAX_UINT_ID) }]);
    expect(await errorOf(engine.updateSchema(NS, { idType: "uuid" }))).toBeInstanceOf(SchemaChangeError);
    const info = await engine.updateSchema(NS, { idType: "uint" });
    expect(info.schema?.idType).toBe("uint");
    expect((await engine.get(NS, [MAX_UINT_ID]))[0]?.id).toBe("18446744073709551615");
    await engine.createNamespace("acme/schema/other");
    await engine.upsert("acme/schema/other", [{ id: documentIdKey(5) }, { id: "x" }]);
    expect(await errorOf(engine.updateSchema("acme/schema/other", { idType: "uint" }))).toBeInstanceOf(SchemaChangeError);
  });

  it("patchByFilter checks its patch against the schema (and normalizes it)", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { attributes: { at: "datetime", n: "int" } } });
    await engine.upsert(NS, [{ id: "a", attributes: { n: 1, tag: "x" } }]);
    expect(await errorOf(engine.patchByFilter(NS, ["n", "Eq", 1], { attributes: { n: "one" } }))).toMatchObject({ attribute: "n", expected: "int" });
    expect(await errorOf(engine.patchByFilter(NS, ["n", "Eq", 1], { attributes: { tag: 5 } }))).toMatchObject({ attribute: "tag", expected: "string" });
    await engine.patchByFilter(NS, ["n", "Eq", 1], { attributes: { at: "2024-03-15T14:00:00+01:00" } });
    expect((await engine.get(NS, ["a"]))[0]?.attributes).toEqual({ n: 1, tag: "x", at: "2024-03-15T13:00:00.000Z" });
  });

  it("branches keep the schema", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS, { schema: { idType: "uint", attributes: { a: "bool" } } });
    const branch = await engine.branchNamespace(NS, "acme/schema/branch");
    expect(branch.schema).toEqual({ idType: "uint", attributes: { a: { type: "bool", filterable: true } } });
  });
});
