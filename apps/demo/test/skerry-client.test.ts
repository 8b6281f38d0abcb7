/**
 * `@skerry/client` against a running server (in-process, real HTTP on
 * loopback, local-fs store in a temp directory). These tests live here,
 * not in packages/client, because packages never depend on apps: the
 * client package's own tests use a fake fetch, these check it against the
 * real thing. Every route the client calls is also checked to be a route
 * of the server's OpenAPI document, with the same method.
 */
import {
  type FetchFunction,
  filter as f,
  type HighlightFragment,
  isSkerryError,
  type Namespace,
  rankBy,
  SkerryClient,
  type SkerryClientOptions,
  SkerryError,
} from "@skerry/client";
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, GatedStorage, localFsStore, startTestServer, type TestStore, until } from "./support/harness.ts";

interface Product {
  category: string;
  price: number;
  tags: string[];
  in_stock: boolean;
  sale?: boolean;
}

const CATEGORIES = ["books", "toys", "tools"] as const;
const DOCS = Array.from({ length: 24 }, (_, i) => ({
  id: `p${String(i).padStart(2, "0")}`,
  vector: [Math.cos(i), Math.sin(i), (i % 5) / 5],
  text: { title: i % 3 === 0 ? `vintage guitar number ${i}` : `plain item ${i}` },
  attributes: { category: CATEGORIES[i % 3] as string, price: i * 2.5, tags: i % 2 === 0 ? ["even"] : ["odd", "x"], in_stock: i % 4 !== 0 },
}));

/** Every (method, path) the client sent, to check against the OpenAPI document. */
const sent: { method: string; path: string }[] = [];
const recording: FetchFunction = (input, init) => {
  sent.push({ method: init.method ?? "GET", path: new URL(input).pathname });
  return fetch(input, init);
};

describe("@skerry/client against the server (local-fs)", () => {
  let store: TestStore;
  let server: SkerryServer;
  let admin: SkerryClient;
  let writer: SkerryClient; // write key of acme/shop
  let reader: SkerryClient; // read key of acme/shop
  let products: Namespace<Product>;
  const client = (apiKey: string | undefined, options: Partial<SkerryClientOptions> = {}) =>
    new SkerryClient({ baseUrl: server.url, ...(apiKey === undefined ? {} : { apiKey }), fetch: recording, ...options });

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage, { maxBatch: 100 }, { compaction: { auto: false } });
    admin = client(ADMIN_KEY);
    writer = client((await admin.keys.create({ role: "write", org: "acme", project: "shop", name: "writer" })).key);
    reader = client((await admin.keys.create({ role: "read", org: "acme", project: "shop" })).key);
    products = writer.project("acme", "shop").namespace<Product>("products");
    const info = await products.create({ distanceMetric: "cosine", labels: { team: "shop" } });
    expect(info).toMatchObject({ path: "acme/shop/products", version: 1, docCount: 0, labels: { team: "shop" }, pinned: false });
    const written = await products.upsert(DOCS, { ifVersion: 1 });
    expect(written).toEqual({ version: 2, count: DOCS.length, deduplicated: false });
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("answers health, readiness, namespace lists and info", async () => {
    expect(await client(undefined).health()).toEqual({ status: "ok" });
    expect(await client(undefined).ready()).toEqual({ status: "ready" });
    expect(await reader.project("acme", "shop").listNamespaces()).toEqual(["products"]);
    const info = await reader.namespace("acme", "shop", "products").info({ consistency: "eventual" });
    expect(info).toMatchObject({ docCount: DOCS.length, distanceMetric: "cosine", vectorDimension: 3 });
  });

  it("writes once per idempotency key, also when the answer is lost and the client retries", async () => {
    const ns = writer.namespace("acme", "shop", "idem");
    await ns.create();
    // The first attempt reaches the server and commits, then its answer is "lost": the client retries with the same key.
    let attempts = 0;
    const lossy = new SkerryClient({
      baseUrl: server.url,
      apiKey: (await admin.keys.create({ role: "write", org: "acme", project: "shop" })).key,
      sleep: async () => {},
      fetch: async (input, init) => {
        attempts++;
        const response = await recording(input, init);
        if (attempts === 1) {
          await response.text();
          throw new TypeError("fetch failed: connection reset");
        }
        return response;
      },
    });
    const result = await lossy.namespace("acme", "shop", "idem").upsert([{ id: "once", attributes: { n: 1 } }]);
    expect(attempts).toBe(2);
    expect(result).toMatchObject({ version: 2, count: 1, deduplicated: true });
    expect(await ns.versions()).toEqual([1, 2]);
    // A caller's own key deduplicates across calls (e.g. a re-run of an import).
    const first = await ns.upsert([{ id: "b" }], { idempotencyKey: "import-1" });
    const again = await ns.upsert([{ id: "b" }], { idempotencyKey: "import-1" });
    expect(first.deduplicated).toBe(false);
    expect(again).toEqual({ ...first, deduplicated: true });
    // A fresh key per call: the same write sent twice commits twice.
    const v1 = await ns.delete(["nothing-here"]);
    const v2 = await ns.delete(["nothing-here"]);
    expect(v2.version).toBe(v1.version + 1);
  });

  it("refuses a stale ifVersion with VersionConflict and applies nothing", async () => {
    const { version } = await products.info();
    const error = await products.patch([{ id: "p01", attributes: { price: 0 } }], { ifVersion: version - 1 }).catch((e: unknown) => e);
    expect(isSkerryError(error, "VersionConflict")).toBe(true);
    expect(error).toMatchObject({ status: 412, retryable: false, attempts: 1 });
    expect((await products.document("p01"))?.attributes?.price).toBe(2.5);
    expect((await products.info()).version).toBe(version);
  });

  it("writes several kinds in one version with per-document conditions, and sets text field options", async () => {
    const ns = writer.namespace("acme", "shop", "batch");
    await ns.create({ textFields: { body: { stemming: true } } });
    await ns.upsert([
      { id: "a", text: { body: "running shoes" }, attributes: { v: 1 } },
      { id: "b", attributes: { v: 5 } },
    ]);
    const result = await ns.write({
      upserts: [{ id: "a", text: { body: "running shoes" }, attributes: { v: 2 } }, { id: "c", attributes: { v: 1 } }],
      deletes: ["b"],
      upsertCondition: ["v", "Lt", { $ref_new: "v" }],
      deleteCondition: ["v", "Gt", 9],
    });
    expect(result).toMatchObject({ upserted: ["a", "c"], deleted: [], deduplicated: false });
    expect((await ns.document("b"))?.attributes?.v).toBe(5);
    const stale = await ns.write({ upserts: [{ id: "a", attributes: { v: 1 } }], upsertCondition: ["v", "Lt", { $ref_new: "v" }] });
    expect(stale.upserted).toEqual([]);
    expect((await ns.document("a"))?.attributes?.v).toBe(2);
    expect((await ns.query({ rankBy: ["body", "BM25", "run"], topK: 5 })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await ns.query({ rankBy: rankBy.bm25("body", "sho", { lastAsPrefix: true }), topK: 5 })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await ns.query({ filters: f.containsTokenSequence("body", "running shoes"), topK: 5 })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await ns.query({ filters: f.containsTokenSequence("body", "shoes running"), topK: 5 })).rows).toEqual([]);
    const info = await ns.setTextFields({ body: { stemming: false, k1: 2 } });
    expect(info.textFields.body).toMatchObject({ stemming: false, k1: 2 });
    expect((await ns.info()).textFields.body?.k1).toBe(2);
  });

  it("highlights a stored text value over /v1 (computeAttributes Highlight), tokenized with the field's options", async () => {
    const ns = writer.namespace("acme", "shop", "highlight");
    await ns.create({ textFields: { body: { stemming: true, asciiFolding: true } } });
    const body = "Trail shoes for the café. Running shoes, 🐡 naïve runners!\nNothing else.";
    await ns.upsert([
      { id: "a", text: { body }, attributes: { body } },
      { id: "b", text: { body: "only text" } },
    ]);
    const result = await ns.query({
      rankBy: ["body", "BM25", "run cafe"],
      topK: 5,
      computeAttributes: { h: ["Highlight", "body", { includeOffsets: "utf-16", fragmentLimit: 2 }] },
    });
    const fragments = result.rows[0]?.computed?.["h"] as readonly HighlightFragment[];
    // Each fragment matches one term once: the shorter (4 tokens against 5) ranks first.
    expect(fragments.map((f) => f.text)).toEqual(["Running shoes, 🐡 naïve runners!", "Trail shoes for the café."]);
    expect(fragments[0]!.matchRanges!.map(([s, e]) => body.slice(s, e))).toEqual(["Running"]);
    // "b" holds the text but no attribute "body": nothing to highlight.
    const b = await ns.query({ rankBy: ["body", "BM25", "text"], computeAttributes: { h: ["Highlight", "body"] } });
    expect(b.rows.map((r) => [r.id, r.computed?.["h"]])).toEqual([["b", []]]);
    // A text field no document stores as an attribute cannot be highlighted.
    const other = writer.namespace("acme", "shop", "highlight-unstored");
    await other.create();
    await other.upsert([{ id: "a", text: { body: "only text" } }]);
    const refused = await other.query({ rankBy: ["body", "BM25", "text"], computeAttributes: { h: ["Highlight", "body"] } }).catch((e: unknown) => e);
    expect(isSkerryError(refused) && refused.code).toBe("InvalidQuery");
    expect(String((refused as Error).message)).toMatch(/not stored as an attribute/);
  });

  it("sets a pre_tokenized_array text field over /v1: its text is its tokens joined by U+001F, used as they are", async () => {
    const ns = writer.namespace("acme", "shop", "pretok");
    const created = await ns.create({ textFields: { tags: { tokenizer: "pre_tokenized_array" } } });
    expect(created.textFields.tags).toMatchObject({ tokenizer: "pre_tokenized_array", caseSensitive: true, removeStopwords: false });
    const sep = "\u001f";
    await ns.upsert([
      { id: "a", text: { tags: ["New York", "pizza"].join(sep) } },
      { id: "b", text: { tags: ["new york", "The"].join(sep) } },
    ]);
    expect((await ns.query({ rankBy: ["tags", "BM25", "New York"], topK: 5 })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await ns.query({ filters: f.containsTokenSequence("tags", ["New York", "pizza"]), topK: 5 })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await ns.query({ filters: ["tags", "ContainsAnyToken", ["The", "pizza"]], topK: 5 })).rows.map((r) => r.id).sort()).toEqual(["a", "b"]);
    const refused = await ns.setTextFields({ tags: { tokenizer: "pre_tokenized_array", stemming: true } }).catch((e: unknown) => e);
    expect(isSkerryError(refused, "InvalidArgument")).toBe(true);
  });

  it("declares, reads and extends a typed schema (setSchema/getSchema); the server checks writes and filters against it", async () => {
    const ns = writer.namespace("acme", "shop", "typed");
    const created = await ns.create({ schema: { idType: "uuid", attributes: { price: "float", secret: { type: "string", filterable: false } } } });
    expect(created.schema).toEqual({ idType: "uuid", attributes: { price: { type: "float", filterable: true }, secret: { type: "string", filterable: false } } });
    expect(await reader.namespace("acme", "shop", "typed").getSchema()).toEqual({ version: 1, schema: created.schema });
    await ns.upsert([{ id: "0191C5F0-0000-7000-8000-00000000000A", attributes: { price: 2, secret: "s", at: "2024-01-01T00:00:00Z" } }]);
    const id = "0191c5f0-0000-7000-8000-00000000000a";
    expect((await ns.document(id))?.attributes).toEqual({ price: 2, secret: "s", at: "2024-01-01T00:00:00Z" });
    const info = await ns.setSchema({ attributes: { when: "datetime", tags: { type: "[]string", options: { note: "kept" } } } }, { ifVersion: 2 });
    expect(info.version).toBe(3);
    // `at` got its type from its first value (a string); the declared ones are added.
    expect(info.schema?.attributes).toMatchObject({ at: { type: "string" }, when: { type: "datetime" }, tags: { type: "[]string", filterable: true, options: { note: "kept" } } });
    const refused = await ns.setSchema({ attributes: { at: "datetime" } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SkerryError);
    expect(refused).toMatchObject({ code: "InvalidArgument", status: 400 });
    expect((await ns.upsert([{ id, attributes: { price: "free" } }]).catch((error: unknown) => error)) as SkerryError).toMatchObject({ code: "InvalidArgument" });
    expect((await ns.query({ filters: ["secret", "Eq", "s"], topK: 5 }).catch((error: unknown) => error)) as SkerryError).toMatchObject({ code: "InvalidArgument" });
    const { schema } = await ns.getSchema();
    expect(Object.keys(schema?.attributes ?? {})).toEqual(["at", "price", "secret", "tags", "when"]);
    expect((await writer.namespace("acme", "shop", "products").getSchema()).schema).toBeNull();
  });

  it("queries with the filter and rankBy builders", async () => {
    const books = await products.query({
      filters: f.and(f.eq("category", "books"), f.lt("price", 30), f.not(f.eq("in_stock", false))),
      rankBy: rankBy.desc("price"),
      topK: 10,
      includeAttributes: ["price", "category"],
    });
    const expected = DOCS.filter((d) => d.attributes.category === "books" && d.attributes.price < 30 && d.attributes.in_stock)
      .sort((a, b) => b.attributes.price - a.attributes.price)
      .map((d) => d.id);
    expect(books.rows.map((r) => r.id)).toEqual(expected);
    expect(books.rows[0]?.attributes).toEqual({ price: 22.5, category: "books" });

    const text = await products.query({ rankBy: rankBy.bm25("title", "vintage guitar"), filters: f.containsAny("tags", ["even"]), topK: 3 });
    expect(text.rows).toHaveLength(3);
    expect(text.rows.every((r) => (r.score ?? 0) > 0 && Number(r.id.slice(1)) % 6 === 0)).toBe(true);

    const near = await products.query({ rankBy: rankBy.vector(DOCS[5]!.vector), topK: 2, includeVectors: true });
    expect(near.rows[0]?.id).toBe("p05");
    expect(near.rows[0]?.distance).toBeCloseTo(0, 5);
    expect(near.rows[0]?.vector).toHaveLength(3);

    const hybrid = await products.query({ rankBy: rankBy.rrf([rankBy.vector(DOCS[3]!.vector), rankBy.bm25("title", "guitar")], { k: 10, weights: [2, 1] }), topK: 5 });
    expect(hybrid.rows[0]?.id).toBe("p03");

    const ordered = await products.query({ rankBy: rankBy.order(["category", "asc"], ["price", "desc"]), filters: f.in("id", ["p00", "p01", "p03", "p04"]) });
    expect(ordered.rows.map((r) => r.id)).toEqual(["p03", "p00", "p04", "p01"]);

    const diverse = await products.query({ rankBy: rankBy.asc("price"), limitPer: { attributes: ["category"], limit: 1 }, topK: 10 });
    expect(diverse.rows.map((r) => r.id)).toEqual(["p00", "p01", "p02"]);

    const aggregated = await products.query({ aggregateBy: { n: ["Count"], total: ["Sum", "price"] }, groupBy: ["category"], topK: 5 });
    expect(aggregated.aggregationGroups?.map((g) => [g.group["category"], g.aggregations["n"]])).toEqual([
      ["books", 8],
      ["tools", 8],
      ["toys", 8],
    ]);
  });

  it("maps an invalid query to InvalidQuery with the problem's path", async () => {
    const error = await products.query({ filters: f.eq("price", "cheap" as never) }).catch((e: unknown) => e);
    expect(isSkerryError(error, "InvalidQuery")).toBe(true);
    expect((error as SkerryError).details?.["issues"]).toEqual([expect.objectContaining({ path: ["filters", "2"], reason: "type_mismatch" })]);
  });

  it("reads documents by id, one at a time, and scans every page from one snapshot", async () => {
    const got = await products.get(["p02", "missing", "p03"]);
    expect(got.documents.map((d) => d?.id ?? null)).toEqual(["p02", null, "p03"]);
    expect(await products.document("missing")).toBeNull();
    const p07 = await products.document("p07");
    expect(p07?.attributes).toEqual(DOCS[7]!.attributes);
    expect(p07?.text).toEqual(DOCS[7]!.text);

    const ids: string[] = [];
    let wroteMeanwhile = false;
    for await (const doc of products.scan({ pageSize: 5 })) {
      ids.push(doc.id);
      if (!wroteMeanwhile) {
        wroteMeanwhile = true;
        await products.upsert([{ id: "p99", attributes: { category: "books", price: 1, tags: [], in_stock: true } }]);
      }
    }
    expect(ids).toEqual(DOCS.map((d) => d.id)); // p99 came after the scan's snapshot
    const pages = [];
    for await (const page of products.scanPages({ pageSize: 10 })) pages.push(page.documents.length);
    expect(pages).toEqual([10, 10, 5]);
    await products.delete(["p99"]);
  });

  it("reads older versions with atVersion and at()", async () => {
    const ns = writer.namespace("acme", "shop", "history");
    await ns.create();
    const v2 = (await ns.upsert([{ id: "a", attributes: { n: 1 } }])).version;
    const v3 = (await ns.patch([{ id: "a", attributes: { n: 2 } }])).version;
    await ns.delete(["a"]);
    expect(await ns.versions()).toEqual([1, 2, 3, 4]);
    expect(await ns.document("a")).toBeNull();
    expect((await ns.document("a", { atVersion: v2 }))?.attributes).toEqual({ n: 1 });
    const old = ns.at(v3);
    expect((await old.get(["a"])).documents[0]?.attributes).toEqual({ n: 2 });
    expect((await old.query({ filters: ["n", "Eq", 2] })).rows.map((r) => r.id)).toEqual(["a"]);
    expect((await old.info()).docCount).toBe(1);
    expect((await old.manifest()).version).toBe(v3);
    const scanned = [];
    for await (const doc of old.scan()) scanned.push(doc.id);
    expect(scanned).toEqual(["a"]);
    await expect(ns.at(99).info()).rejects.toMatchObject({ code: "VersionNotFound", status: 404 });
  });

  it("branches, copies, pins, labels and drops namespaces", async () => {
    const { version } = await products.info();
    const branch = await products.branch("products-exp", { atVersion: 2, labels: { kind: "experiment" } });
    expect(branch).toMatchObject({ path: "acme/shop/products-exp", parent: { namespace: "acme/shop/products", version: 2 }, labels: { kind: "experiment" } });
    const exp = writer.project("acme", "shop").namespace<Product>("products-exp");
    await exp.upsert([{ id: "only-here", attributes: { category: "toys", price: 1, tags: [], in_stock: true } }]);
    expect(await products.document("only-here")).toBeNull();
    expect((await exp.info()).docCount).toBe(DOCS.length + 1);

    await expect(products.copy("acme/other/products")).rejects.toMatchObject({ code: "Forbidden", status: 403 });
    const copied = await admin.namespace("acme", "shop", "products").copy("acme/archive/products");
    expect(copied).toMatchObject({ path: "acme/archive/products", docCount: DOCS.length });

    expect(await products.pin()).toMatchObject({ path: "acme/shop/products", pinned: true, docCount: DOCS.length });
    expect((await products.info()).pinned).toBe(true);
    expect(await admin.stats().then((s) => s.pinned)).toContain("acme/shop/products");
    expect(await products.unpin()).toEqual({ path: "acme/shop/products", pinned: false, wasPinned: true });
    expect(await exp.warm()).toMatchObject({ path: "acme/shop/products-exp", pinned: false });

    const labelled = await exp.setLabels({ kind: "experiment", owner: "me" });
    expect(labelled.labels).toEqual({ kind: "experiment", owner: "me" });
    await expect(exp.setLabels({}, { ifVersion: 1 })).rejects.toMatchObject({ code: "VersionConflict" });
    expect((await exp.drop()).alreadyDeleted).toBe(false);
    await expect(exp.info()).rejects.toMatchObject({ code: "NamespaceNotFound", status: 404 });
    await expect(products.create()).rejects.toMatchObject({ code: "NamespaceExists", status: 409, retryable: false });
    expect((await products.info()).version).toBe(version);
  });

  it("deletes and patches by filter, and runs the maintenance routes", async () => {
    const ns = writer.project("acme", "shop").namespace<Product>("maintained");
    await ns.create();
    await ns.upsert(DOCS.slice(0, 10));
    expect(await ns.patchByFilter(f.eq("category", "toys"), { attributes: { sale: true } })).toMatchObject({ matched: 3, patched: 3 });
    expect((await ns.query({ filters: f.eq("sale", true) })).rows.map((r) => r.id)).toEqual(["p01", "p04", "p07"]);
    expect(await ns.deleteByFilter(f.gte("price", 20))).toMatchObject({ matched: 2, deleted: 2 });
    const compacted = await ns.compact({ force: true });
    expect(typeof compacted).toBe("object");
    expect((await ns.manifest()).containers.map((c) => c.kind)).toEqual(["SEGMENT"]);
    expect(typeof (await ns.recover())).toBe("object");
    expect(Array.isArray(await ns.wal())).toBe(true);
    expect(typeof (await ns.walGc({ graceMs: 0 }))).toBe("object");
    expect(await ns.gc({ keepVersions: 1, keepForMs: 0 })).toMatchObject({ latestVersion: (await ns.info()).version });
    expect(await admin.project("acme", "shop").repair()).toMatchObject({ foreignKeys: [] });
  });

  it("manages keys and types the access errors", async () => {
    const created = await admin.keys.create({ role: "read", org: "acme", project: "shop", name: "dash" });
    expect(created.key).toMatch(/^sk_/);
    expect((await admin.keys.list()).map((k) => k.id)).toContain(created.id);
    await admin.keys.revoke(created.id);
    await expect(admin.keys.revoke(created.id)).rejects.toMatchObject({ code: "KeyNotFound", status: 404 });
    await expect(client(created.key).health()).resolves.toEqual({ status: "ok" });
    await expect(client(created.key).project("acme", "shop").listNamespaces()).rejects.toMatchObject({ code: "Unauthorized", status: 401 });
    await expect(reader.namespace("acme", "shop", "products").upsert([{ id: "x" }])).rejects.toMatchObject({ code: "Forbidden", status: 403 });
    await expect(writer.keys.list()).rejects.toMatchObject({ code: "Forbidden" });
    await expect(writer.namespace("acme", "shop", "products").upsert(Array.from({ length: 101 }, (_, i) => ({ id: `b${i}` })))).rejects.toMatchObject({
      code: "BatchTooLarge",
      status: 413,
    });
  });

  it("retries a real 429 after its Retry-After", async () => {
    const gated = new GatedStorage(new MemoryStorage());
    const limited = await startTestServer(gated.storage, { maxInFlightPerKey: 1 });
    try {
      const sleeps: number[] = [];
      let held: Promise<unknown> | undefined;
      const c = new SkerryClient({
        baseUrl: limited.url,
        apiKey: ADMIN_KEY,
        fetch: recording,
        sleep: async (ms) => {
          sleeps.push(ms);
          gated.open(); // the request holding the key's only slot finishes
          await held;
        },
      });
      const project = c.project("acme", "limited");
      gated.close();
      held = project.listNamespaces().toArray(); // a listing is lazy: toArray() sends the first request now
      await until(() => gated.waiting >= 1);
      expect(await project.listNamespaces()).toEqual([]);
      expect(sleeps).toHaveLength(1);
      expect(sleeps[0]).toBeGreaterThanOrEqual(1000);
    } finally {
      gated.open();
      await limited.close();
    }
  });

  it("calls only routes of the OpenAPI document, with their methods", async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).map(([template, methods]) => ({
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
      methods: Object.keys(methods),
    }));
    const undocumented = sent.filter((s) => !routes.some((r) => r.pattern.test(s.path) && r.methods.includes(s.method.toLowerCase())));
    expect(undocumented).toEqual([]);
    expect(new Set(sent.map((s) => s.path.replace(/^\/v1\/orgs\/[^/]+\/projects\/[^/]+\/namespaces\/[^/]+/, "NS"))).size).toBeGreaterThan(20);
  });
});

describe("@skerry/client errors without a server", () => {
  it("reports NetworkError after its retries when nothing listens", async () => {
    const c = new SkerryClient({ baseUrl: "http://127.0.0.1:9", retry: { maxRetries: 2, baseDelayMs: 1 } });
    const error = await c.health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkerryError);
    expect(error).toMatchObject({ code: "NetworkError", attempts: 3, retryable: true });
  });
});
