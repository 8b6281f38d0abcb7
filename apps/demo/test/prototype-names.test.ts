/**
 * Every user-supplied name is data over HTTP too: attribute names, nested
 * object keys, text field names, label names and the names in filters,
 * rankBy, includeAttributes, aggregateBy and groupBy that are also the
 * names of Object.prototype members (`constructor`, `toString`, ...) or
 * `__proto__` are written, patched, queried, compacted and read back
 * exactly, and every answer carries them as own properties of its JSON.
 *
 * Requests go through the app in process (the same app the server serves)
 * as raw JSON text, so a `__proto__` key reaches the server exactly as a
 * client sends it.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/http/app.ts";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, nsUrl, startTestServer } from "./support/harness.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])].sort();
const BASE = nsUrl("acme", "proto");
const NS = `${BASE}/docs`;
const DOCS = 9;

/** A plain object with own properties `name` -> value(name) for every name (`__proto__` as an own property, as JSON.parse makes it). */
function record<T extends Json>(value: (name: string) => T): Record<string, T> {
  return Object.fromEntries(NAMES.map((n) => [n, value(n)]));
}

/** `{ [name]: value }` with `name` as an own property whatever it is. */
function single(name: string, value: Json): Record<string, Json> {
  return Object.fromEntries([[name, value]]);
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
const nested = () => record((n) => ({ [`${n.length}`]: n.length, inner: single(n, [n]) }) as Json);

/** The documents after the writes below (without `x`), as the test expects them. */
function expected(): Map<string, { attributes: Record<string, Json>; text: Record<string, string> }> {
  const out = new Map<string, { attributes: Record<string, Json>; text: Record<string, string> }>();
  for (let i = 0; i < DOCS; i++) {
    const patched = i === 0;
    out.set(`d${i}`, {
      attributes: { ...record((n) => (patched ? `${n}-patched` : attr(n, i))), nested: nested() },
      text: record((n) => (patched ? `patched ${n.replaceAll("_", "")}` : words(n, i))),
    });
  }
  return out;
}

describe("Object.prototype names as user names, over HTTP", () => {
  let server: SkerryServer;
  let app: ReturnType<typeof createApp>;

  /** One request through the app; the body is sent as JSON text, the answer parsed with JSON.parse (own `__proto__` kept). */
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json & Record<string, Json> }> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await app.request(path, body === undefined ? { method, headers } : { method, headers, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === "" ? null : JSON.parse(text) };
  }
  async function ok(method: string, path: string, body?: unknown, status = 200) {
    const answer = await call(method, path, body);
    expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(status);
    return answer.body;
  }
  async function ids(request: Record<string, unknown>): Promise<string[]> {
    const answer = await ok("POST", `${NS}/query`, { topK: 100, ...request });
    return (answer["rows"] as { id: string }[]).map((r) => r.id).sort();
  }

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage());
    app = createApp(server.deps);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("should keep every name as an own property of the request bodies it sends (the test's own premise)", () => {
    const body = JSON.stringify({ attributes: record((n) => n) });
    expect(Object.keys(JSON.parse(body).attributes).sort()).toEqual(NAMES);
    expect(NAMES).toEqual(expect.arrayContaining(["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "__defineGetter__"]));
  });

  it("should store, return and replace labels with such names (create, get, manifest, update, branch)", async () => {
    const labels = record((n) => `label ${n}`);
    const created = await ok("POST", BASE, { name: "labelled", labels }, 201);
    expect(canonical(created["labels"])).toBe(canonical(labels));
    expect(canonical((await ok("GET", `${BASE}/labelled`))["labels"])).toBe(canonical(labels));
    expect(canonical((await ok("GET", `${BASE}/labelled/manifest`))["labels"])).toBe(canonical(labels));
    const changed = record((n) => `changed ${n}`);
    expect(canonical((await ok("PUT", `${BASE}/labelled/labels`, { labels: changed }))["labels"])).toBe(canonical(changed));
    expect(canonical((await ok("GET", `${BASE}/labelled`))["labels"])).toBe(canonical(changed));
    const branchLabels = record((n) => `branch ${n}`);
    const branched = await ok("POST", `${BASE}/labelled/branch`, { target: "labelled-branch", labels: branchLabels }, 201);
    expect(canonical(branched["labels"])).toBe(canonical(branchLabels));
    expect(canonical((await ok("GET", `${BASE}/labelled-branch`))["labels"])).toBe(canonical(branchLabels));
  });

  it("should round-trip attributes, nested keys and text fields with such names through writes, patches, queries, compaction and reads", async () => {
    await ok("POST", BASE, { name: "docs" }, 201);
    const docs = Array.from({ length: DOCS }, (_, i) => ({
      id: `d${i}`,
      vector: [1, i],
      attributes: { ...record((n) => attr(n, i)), nested: nested() },
      text: record((n) => words(n, i)),
    }));
    await ok("POST", `${NS}/upsert`, { documents: docs.slice(0, 5) });
    await ok("POST", `${NS}/upsert`, { documents: [...docs.slice(5), { id: "x", vector: [1, 0], attributes: { plain: "yes" }, text: { plain: "w2" } }] });
    await ok("POST", `${NS}/patch`, { patches: [{ id: "d0", attributes: record((n) => `${n}-patched`), text: record((n) => `patched ${n.replaceAll("_", "")}`) }] });

    await checkQueries("log");
    await checkReads("log");
    await ok("POST", `${NS}/compact`, { force: true });
    expect(((await ok("GET", `${NS}/manifest`))["containers"] as { kind: string }[]).map((c) => c.kind)).toEqual(["SEGMENT"]);
    await checkQueries("segment");
    await checkReads("segment");

    // A patch by filter on such a name, a patch that removes every such attribute (null), a delete by filter on one.
    const proto = await ok("POST", `${NS}/patchByFilter`, { filter: ["__proto__", "Eq", attr("__proto__", 1)], patch: { attributes: single("__proto__", "by filter") } });
    expect(proto).toMatchObject({ matched: 3, patched: 3 });
    await ok("POST", `${NS}/patch`, { patches: [{ id: "d2", attributes: record(() => null), text: record(() => null) }] });
    const removed = await ok("POST", `${NS}/deleteByFilter`, { filter: ["constructor", "Eq", attr("constructor", 2)] });
    expect(removed).toMatchObject({ matched: 2, deleted: 2 });
    const after = (await ok("POST", `${NS}/documents/get`, { ids: ["d1", "d2", "d5", "d7"] }))["documents"] as ({ attributes?: Json; text?: Json } | null)[];
    const want = expected();
    expect(canonical(after[0]?.attributes)).toBe(canonical({ ...want.get("d1")!.attributes, ...single("__proto__", "by filter") }));
    expect(canonical(after[1]?.attributes)).toBe(canonical({ nested: nested() }));
    expect(after[1]?.text).toBeUndefined();
    expect(after[2]).toBeNull();
    expect(canonical(after[3]?.attributes)).toBe(canonical({ ...want.get("d7")!.attributes, ...single("__proto__", "by filter") }));
  });

  it("should validate the value under a __proto__ key like any other (400 naming its path; nothing written)", async () => {
    const labels = await call("POST", BASE, { name: "refused", labels: single("__proto__", 5) });
    expect(labels.status).toBe(400);
    expect(labels.body).toMatchObject({ error: { code: "InvalidArgument", details: { issues: [{ path: ["labels", "__proto__"] }] } } });
    expect((await call("GET", `${BASE}/refused`)).status).toBe(404);
    await ok("POST", BASE, { name: "strict" }, 201);
    const text = await call("POST", `${BASE}/strict/upsert`, { documents: [{ id: "a", text: single("__proto__", 5) }] });
    expect(text.body).toMatchObject({ error: { code: "InvalidArgument", details: { issues: [{ path: ["documents", "0", "text", "__proto__"] }] } } });
    const nestedProto = await call("POST", `${BASE}/strict/upsert`, { documents: [{ id: "a", attributes: { outer: single("__proto__", { value: {} }) } }] });
    expect(nestedProto.status).toBe(200); // any JSON value nests, __proto__ included
    const aggregation = await call("POST", `${BASE}/strict/query`, { aggregateBy: single("__proto__", "Count") });
    expect(aggregation.body).toMatchObject({ error: { code: "InvalidArgument", details: { issues: [{ path: ["aggregateBy", "__proto__"] }] } } });
    const [doc] = (await ok("POST", `${BASE}/strict/documents/get`, { ids: ["a"] }))["documents"] as { attributes: Json }[];
    expect(canonical(doc?.attributes)).toBe(canonical({ outer: single("__proto__", { value: {} }) }));
  });

  it("should still document these records as JSON objects with additionalProperties (/openapi.json)", async () => {
    const schemas = ((await ok("GET", "/openapi.json"))["components"] as { schemas: Record<string, Record<string, Json>> }).schemas;
    const ref = { $ref: "#/components/schemas/JsonValue" };
    expect(schemas["Attributes"]).toEqual({ type: "object", additionalProperties: ref });
    expect(schemas["JsonValue"]!["anyOf"]).toContainEqual({ type: "object", additionalProperties: { allOf: [ref, { nullable: true }] } });
    const props = (name: string) => schemas[name]!["properties"] as Record<string, Json>;
    expect(props("CreateNamespaceRequest")["labels"]).toEqual({
      type: "object",
      additionalProperties: { type: "string", maxLength: 1024 },
    });
    expect(props("DocumentInput")["text"]).toEqual({ type: "object", additionalProperties: { type: "string" } });
    expect(props("QueryRequest")["aggregateBy"]).toEqual({ type: "object", additionalProperties: { type: "array", items: { type: "string" } } });
  });

  async function checkQueries(stage: string): Promise<void> {
    const want = expected();
    for (const name of NAMES) {
      const at = `${stage} / ${name}`;
      expect(await ids({ filters: [name, "Eq", attr(name, 1)] }), at).toEqual(["d1", "d4", "d7"]);
      expect(await ids({ filters: [name, "NotEq", attr(name, 1)] }), at).toEqual(["d0", "d2", "d3", "d5", "d6", "d8", "x"]);
      expect(await ids({ filters: [name, "In", [attr(name, 2), `${name}-patched`]] }), at).toEqual(["d0", "d2", "d5", "d8"]);
      expect(await ids({ filters: ["And", [[name, "Glob", `${name}-v[12]`], [name, "Exists"]]] }), at).toEqual(["d1", "d2", "d4", "d5", "d7", "d8"]);
      expect(await ids({ filters: ["Not", [name, "Exists"]] }), at).toEqual(["x"]);
      const ordered = await ok("POST", `${NS}/query`, { rankBy: [name, "desc"], topK: 3, includeAttributes: [name, "missing"] });
      const rows = ordered["rows"] as { id: string; attributes?: Json }[];
      expect(rows.map((r) => r.id).sort(), at).toEqual(["d2", "d5", "d8"]);
      for (const row of rows) expect(canonical(row.attributes), `${at} ${row.id}`).toBe(canonical(single(name, want.get(row.id)!.attributes[name]!)));
      expect(await ids({ rankBy: [name, "BM25", "w2"], topK: 10 }), at).toEqual(["d2", "d5", "d8"]);
      // A computed attribute named like the text field, a ranking expression over it and a filter on it.
      const computed = await ok("POST", `${NS}/query`, {
        rankBy: ["Sum", [[name, "BM25", "w2"], [name, "Eq", attr(name, 2)]]],
        topK: 10,
        computeAttributes: single(name, ["Product", 2, [name, "BM25", "w2"]]),
      });
      const computedRows = computed["rows"] as { id: string; score: number; computed: Record<string, number> }[];
      expect(computedRows.map((r) => r.id).sort(), at).toEqual(["d2", "d5", "d8"]);
      for (const row of computedRows) {
        expect(Object.hasOwn(row.computed, name), at).toBe(true);
        expect(Object.getOwnPropertyDescriptor(row.computed, name)?.value, at).toBeCloseTo(2 * (row.score - 1), 9);
      }
      const grouped = await ok("POST", `${NS}/query`, { aggregateBy: single(name, ["Count"]), groupBy: [name], topK: 10 });
      const counts = new Map(
        (grouped["aggregationGroups"] as { group: Json; aggregations: Json }[]).map((g) => [canonical(g.group), canonical(g.aggregations)]),
      );
      expect(counts.get(canonical(single(name, attr(name, 1)))), at).toBe(canonical(single(name, 3)));
      expect(counts.get(canonical(single(name, `${name}-patched`))), at).toBe(canonical(single(name, 1)));
      // A group function named like the attribute: ForEachUnique of a scalar is the scalar.
      const unique = await ok("POST", `${NS}/query`, { aggregateBy: single(name, ["Count"]), groupBy: [single(name, ["ForEachUnique", name])], topK: 10 });
      expect(canonical(unique["aggregationGroups"]), at).toBe(canonical(grouped["aggregationGroups"]));
      const total = await ok("POST", `${NS}/query`, { aggregateBy: single(name, ["Count"]), filters: [name, "Exists"] });
      expect(canonical(total["aggregations"]), at).toBe(canonical(single(name, DOCS)));
    }
    const all = await ok("POST", `${NS}/query`, { topK: 100, includeAttributes: true, filters: ["id", "Eq", "d3"] });
    expect(canonical((all["rows"] as { attributes?: Json }[])[0]?.attributes), stage).toBe(canonical(want.get("d3")!.attributes));
  }

  async function checkReads(stage: string): Promise<void> {
    const want = expected();
    const got = (await ok("POST", `${NS}/documents/get`, { ids: [...want.keys()] }))["documents"] as { id: string; attributes?: Json; text?: Json }[];
    const scanned = ((await ok("GET", `${NS}/documents?limit=100`))["documents"] as { id: string; attributes?: Json; text?: Json }[]).filter((d) => d.id !== "x");
    for (const [i, doc] of got.entries()) {
      const w = want.get(`d${i}`)!;
      expect(canonical(doc.attributes), `${stage} get d${i}`).toBe(canonical(w.attributes));
      expect(canonical(doc.text), `${stage} get d${i} text`).toBe(canonical(w.text));
      expect(canonical(scanned[i]), `${stage} scan d${i}`).toBe(canonical(doc));
      expect(canonical(await ok("GET", `${NS}/documents/d${i}`)), `${stage} one d${i}`).toBe(canonical(doc));
    }
    expect(Object.hasOwn(got[1]!.attributes as object, "__proto__")).toBe(true);
    expect(Object.hasOwn(got[1]!.text as object, "__proto__")).toBe(true);
  }
});
