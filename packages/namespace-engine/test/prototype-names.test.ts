/**
 * Every user-supplied name is data: attribute names, text field names, label
 * names, filter / rank / include / aggregation names that are also the names
 * of Object.prototype members (`constructor`, `toString`, `__proto__`, …)
 * write, patch, query, compact and read back exactly like any other name.
 */
import { describe, expect, it } from "vitest";
import type { JsonValue, NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine, memoryEngine } from "./support/harness.ts";

const NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])].sort();
const NS = "acme/proto/docs";
const DOCS = 9;

/** A plain object with own properties `name` -> value(name), built like a parsed request body (JSON.parse keeps `__proto__` as data). */
function record<T extends JsonValue>(value: (name: string) => T): Record<string, T> {
  return JSON.parse(JSON.stringify(Object.fromEntries(NAMES.map((n) => [n, value(n)])))) as Record<string, T>;
}

/** Deterministic, sorted-key JSON: own properties only, `__proto__` included. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.getOwnPropertyNames(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

const attr = (name: string, i: number) => `${name}-v${i % 3}`;
const words = (name: string, i: number) => `w${i % 3} ${name.replaceAll("_", "")} common`;

/** The documents after the writes below, as the test expects them. */
function expected(): Map<string, { attributes: Record<string, JsonValue>; text: Record<string, string> }> {
  const out = new Map<string, { attributes: Record<string, JsonValue>; text: Record<string, string> }>();
  for (let i = 0; i < DOCS; i++) {
    const attributes = record((n) => attr(n, i));
    const text = record((n) => words(n, i));
    if (i === 0) {
      for (const n of NAMES) Object.defineProperty(attributes, n, { value: `${n}-patched`, enumerable: true, writable: true, configurable: true });
      for (const n of NAMES) Object.defineProperty(text, n, { value: `patched ${n.replaceAll("_", "")}`, enumerable: true, writable: true, configurable: true });
    }
    out.set(`d${i}`, { attributes, text });
  }
  return out;
}

async function write(engine: NamespaceEngine): Promise<void> {
  await engine.createNamespace(NS, { labels: record((n) => `label ${n}`) as Record<string, string> });
  const docs = Array.from({ length: DOCS }, (_, i) => ({
    id: `d${i}`,
    vector: [1, i],
    attributes: { ...record((n) => attr(n, i)), nested: record((n) => n.length) },
    text: record((n) => words(n, i)),
  }));
  await engine.upsert(NS, docs.slice(0, 5));
  await engine.upsert(NS, [...docs.slice(5), { id: "x", vector: [1, 0], attributes: { plain: "yes" }, text: { plain: "w2" } }]);
  await engine.patch(NS, [{ id: "d0", attributes: record((n) => `${n}-patched`), text: record((n) => `patched ${n.replaceAll("_", "")}`) }]);
}

async function checkQueries(engine: NamespaceEngine, stage: string): Promise<void> {
  const want = expected();
  for (const name of NAMES) {
    const at = `${stage} / ${name}`;
    const ids = async (request: Record<string, unknown>) => (await engine.query(NS, { topK: 100, ...request })).rows.map((r) => r.id).sort();
    expect(await ids({ filters: [name, "Eq", attr(name, 1)] }), at).toEqual(["d1", "d4", "d7"]);
    expect(await ids({ filters: [name, "NotEq", attr(name, 1)] }), at).toEqual(["d0", "d2", "d3", "d5", "d6", "d8", "x"]);
    expect(await ids({ filters: [name, "In", [attr(name, 2), `${name}-patched`]] }), at).toEqual(["d0", "d2", "d5", "d8"]);
    expect(await ids({ filters: [name, "Glob", `${name}-v[12]`] }), at).toEqual(["d1", "d2", "d4", "d5", "d7", "d8"]);
    expect(await ids({ filters: [name, "IGlob", `${name.toUpperCase()}-P*`] }), at).toEqual(["d0"]);
    expect(await ids({ filters: [name, "Regex", `^${name}-v[12]$`] }), at).toEqual(["d1", "d2", "d4", "d5", "d7", "d8"]);
    expect(await ids({ filters: [name, "Gte", `${name}-v2`] }), at).toEqual(["d2", "d5", "d8"]);
    expect(await ids({ filters: [name, "Exists"] }), at).toHaveLength(DOCS);
    expect(await ids({ filters: ["Not", [name, "Exists"]] }), at).toEqual(["x"]);
    const ordered = await engine.query(NS, { rankBy: [name, "desc"], topK: 3, includeAttributes: [name, "missing"] });
    expect(ordered.rows.map((r) => r.id).sort(), at).toEqual(["d2", "d5", "d8"]);
    expect((await engine.query(NS, { rankBy: [name, "asc"], topK: 1, filters: [name, "Exists"] })).rows.map((r) => r.id), at).toEqual(["d0"]);
    for (const row of ordered.rows) {
      expect(canonical(row.attributes), at).toBe(canonical(Object.fromEntries([[name, want.get(row.id)!.attributes[name]]].map(([k, v]) => [k, v]))));
    }
    const bm25 = await engine.query(NS, { rankBy: [name, "BM25", "w2"], topK: 10 });
    expect(bm25.rows.map((r) => r.id).sort(), at).toEqual(["d2", "d5", "d8"]);
    const typeahead = await engine.query(NS, { rankBy: [name, "BM25", "w", { lastAsPrefix: true }], topK: 10 });
    expect(typeahead.rows.map((r) => r.id).sort(), at).toEqual(["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]);
    expect(await ids({ filters: [name, "ContainsTokenSequence", `W2 ${name.replaceAll("_", "")}`] }), at).toEqual(["d2", "d5", "d8"]);
    expect(await ids({ filters: [name, "ContainsTokenSequence", "common w2"] }), at).toEqual([]);
    const groups = await engine.query(NS, { aggregateBy: { [name]: ["Count"] }, groupBy: [name], topK: 10 });
    const counts = new Map((groups.aggregationGroups ?? []).map((g) => [canonical(g.group), canonical(g.aggregations)]));
    expect(counts.get(canonical(JSON.parse(`{${JSON.stringify(name)}:${JSON.stringify(attr(name, 1))}}`))), at).toBe(canonical(JSON.parse(`{${JSON.stringify(name)}:3}`)));
    expect(counts.get(canonical(JSON.parse(`{${JSON.stringify(name)}:${JSON.stringify(`${name}-patched`)}}`))), at).toBe(canonical(JSON.parse(`{${JSON.stringify(name)}:1}`)));
  }
  const present = await engine.query(NS, { aggregateBy: JSON.parse(`{${NAMES.map((n) => `${JSON.stringify(n)}: ["Count", ${JSON.stringify(n)}]`).join(",")}}`) });
  expect(canonical(present.aggregations), stage).toBe(canonical(JSON.parse(`{${NAMES.map((n) => `${JSON.stringify(n)}: ${DOCS}`).join(",")}}`)));
  const all = await engine.query(NS, { topK: 100, includeAttributes: true, filters: ["id", "Eq", "d3"] });
  expect(canonical(all.rows[0]?.attributes), stage).toBe(canonical({ ...want.get("d3")!.attributes, nested: record((n) => n.length) }));
}

async function checkReads(engine: NamespaceEngine, stage: string): Promise<void> {
  const want = expected();
  const docs = await engine.get(NS, [...want.keys()]);
  const scanned = (await engine.scan(NS, { limit: 100 })).documents.filter((d) => d.id !== "x");
  for (const [i, doc] of docs.entries()) {
    const w = want.get(`d${i}`)!;
    expect(canonical(doc?.attributes), `${stage} get d${i}`).toBe(canonical({ ...w.attributes, nested: record((n) => n.length) }));
    expect(canonical(doc?.text), `${stage} get d${i} text`).toBe(canonical(w.text));
    expect(canonical(scanned[i]?.attributes), `${stage} scan d${i}`).toBe(canonical(doc?.attributes));
    expect(canonical(scanned[i]?.text), `${stage} scan d${i} text`).toBe(canonical(doc?.text));
  }
  expect(canonical((await engine.getNamespace(NS)).labels), stage).toBe(canonical(record((n) => `label ${n}`)));
}

describe("Object.prototype names as user names", () => {
  it("attribute, text field, label and filter names like constructor, toString and __proto__ round-trip through writes, queries, compaction and reads", async () => {
    const { storage, engine } = memoryEngine();
    await write(engine);
    await checkQueries(engine, "log");
    await checkReads(engine, "log");
    await engine.compact(NS, { force: true });
    expect((await engine.manifest(NS)).containers.map((c) => c.kind)).toEqual(["SEGMENT"]);
    const fresh = makeEngine(storage);
    await checkQueries(fresh, "segment");
    await checkReads(fresh, "segment");
    await engine.patch(NS, [{ id: "d1", attributes: record(() => null) }]);
    const cleared = (await engine.get(NS, ["d1"]))[0];
    expect(canonical(cleared?.attributes)).toBe(canonical({ nested: record((n) => n.length) }));
  });
});
