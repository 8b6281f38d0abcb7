import { describe, expect, it } from "vitest";
import { Paginated } from "../src/index.ts";
import { FakeServer, json } from "./support/fake-server.ts";

const page = (version: number, ids: string[], nextCursor?: string) =>
  json(200, { version, documents: ids.map((id) => ({ id })), ...(nextCursor === undefined ? {} : { nextCursor, next: ids.at(-1) }) });
const params = (server: FakeServer) => server.calls.map((c) => Object.fromEntries(c.url.searchParams));

describe("document scans", () => {
  it("iterates every page in id order, following each page's cursor", async () => {
    const server = new FakeServer().answer(page(7, ["a", "b"], "c1"), page(7, ["c", "d"], "c2"), page(7, ["e"]));
    const ns = server.client().namespace("acme", "search", "docs");
    const ids: string[] = [];
    for await (const doc of ns.scan({ pageSize: 2 })) ids.push(doc.id);
    expect(ids).toEqual(["a", "b", "c", "d", "e"]);
    expect(params(server)).toEqual([{ limit: "2" }, { limit: "2", cursor: "c1", atVersion: "7" }, { limit: "2", cursor: "c2", atVersion: "7" }]);
    expect(server.calls.every((c) => c.url.pathname === "/v1/orgs/acme/projects/search/namespaces/docs/documents")).toBe(true);
  });

  it("falls back to after + atVersion with a server that sends only `next`", async () => {
    const old = (ids: string[], next?: string) => json(200, { version: 4, documents: ids.map((id) => ({ id })), ...(next === undefined ? {} : { next }) });
    const server = new FakeServer().answer(old(["a"], "a"), old(["b"]));
    const ids: string[] = [];
    for await (const doc of server.client().namespace("acme", "search", "docs").scan({ pageSize: 1 })) ids.push(doc.id);
    expect(ids).toEqual(["a", "b"]);
    expect(params(server)).toEqual([{ limit: "1" }, { limit: "1", after: "a", atVersion: "4" }]);
  });

  it("stops fetching when the loop stops", async () => {
    const server = new FakeServer().answer(page(3, ["a", "b"], "c1"), page(3, ["c"]));
    const ns = server.client().namespace("acme", "search", "docs");
    for await (const doc of ns.scan()) {
      expect(doc.id).toBe("a");
      break;
    }
    expect(server.calls).toHaveLength(1);
  });

  it("yields pages with scanPages, from `after` or a saved cursor, and at a version with at()", async () => {
    const server = new FakeServer().answer(page(2, ["k"], "ck"), page(2, []), page(2, ["z"]));
    const ns = server.client().namespace("acme", "search", "docs");
    const pages = [];
    for await (const p of ns.at(2).scanPages({ after: "j", consistency: "eventual" })) pages.push(p);
    expect(pages.map((p) => p.documents.length)).toEqual([1, 0]);
    expect(params(server).slice(0, 2)).toEqual([
      { atVersion: "2", after: "j", consistency: "eventual" },
      { atVersion: "2", cursor: "ck", consistency: "eventual" },
    ]);
    expect((await ns.scanPage({ cursor: "saved" })).documents).toEqual([{ id: "z" }]);
    expect(params(server)[2]).toEqual({ cursor: "saved" });
    expect(() => ns.scanPage({ cursor: "x", after: "y" })).toThrow(TypeError);
    expect(() => ns.scanPage({ pageSize: 0 })).toThrow(RangeError);
    expect(() => ns.at(0)).toThrow(RangeError);
  });

  it("honours the signal between pages: an abort after a page ends the scan without another call", async () => {
    const server = new FakeServer().answer(page(1, ["a"], "c1"), page(1, ["b"]));
    const controller = new AbortController();
    const reason = new Error("enough");
    const seen: string[] = [];
    const error = await (async () => {
      for await (const doc of server.client().namespace("acme", "search", "docs").scan({ signal: controller.signal })) {
        seen.push(doc.id);
        controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(seen).toEqual(["a"]);
    expect(server.calls).toHaveLength(1);
  });
});

describe("listings", () => {
  const names = (list: string[], nextCursor?: string) => json(200, { namespaces: list, ...(nextCursor === undefined ? {} : { nextCursor }) });

  it("iterates a project's namespaces page by page, with pageSize as limit", async () => {
    const server = new FakeServer().answer(names(["a", "b"], "n1"), names(["c"]));
    const out: string[] = [];
    for await (const name of server.client().project("acme", "search").listNamespaces({ pageSize: 2 })) out.push(name);
    expect(out).toEqual(["a", "b", "c"]);
    expect(params(server)).toEqual([{ limit: "2" }, { limit: "2", cursor: "n1" }]);
    expect(server.calls.every((c) => c.url.pathname === "/v1/orgs/acme/projects/search/namespaces")).toBe(true);
  });

  it("answers the whole array when awaited, and pages with .pages() and the page method", async () => {
    const server = new FakeServer().answer(names(["a"], "n1"), names(["b"]), names(["a"], "n1"), names(["b"]), names(["b"]));
    const project = server.client().project("acme", "search");
    expect(await project.listNamespaces()).toEqual(["a", "b"]);
    expect(params(server).slice(0, 2)).toEqual([{ limit: "1000" }, { limit: "1000", cursor: "n1" }]);
    const pages = [];
    for await (const p of project.listNamespaces().pages()) pages.push(p);
    expect(pages).toEqual([{ namespaces: ["a"], nextCursor: "n1" }, { namespaces: ["b"] }]);
    // A page method given only a cursor leaves the page size to the server.
    expect(await project.listNamespacesPage({ cursor: "n1" })).toEqual({ namespaces: ["b"] });
    expect(params(server)[4]).toEqual({ cursor: "n1" });
  });

  it("fetches nothing until iterated or awaited, and starts over on each iteration", async () => {
    const server = new FakeServer().answer(names(["a"]), names(["a"]));
    const listing = server.client().project("acme", "search").listNamespaces();
    expect(listing).toBeInstanceOf(Paginated);
    expect(server.calls).toHaveLength(0);
    expect(await listing.toArray()).toEqual(["a"]);
    expect(await listing).toEqual(["a"]);
    expect(server.calls).toHaveLength(2);
  });

  it("iterates versions in either order and keys; a cursor's order is not resent", async () => {
    const server = new FakeServer().answer(
      json(200, { versions: [9, 8], nextCursor: "v1" }),
      json(200, { versions: [7] }),
      json(200, { keys: [{ id: "0123456789abcdef", role: "read", createdAt: 1 }], nextCursor: "k1" }),
      json(200, { keys: [{ id: "fedcba9876543210", role: "admin", createdAt: 2 }] }),
    );
    const client = server.client();
    const versions: number[] = [];
    for await (const v of client.namespace("acme", "search", "docs").versions({ order: "desc", pageSize: 2 })) versions.push(v);
    expect(versions).toEqual([9, 8, 7]);
    const keys = await client.keys.list({ pageSize: 1 });
    expect(keys.map((k) => k.id)).toEqual(["0123456789abcdef", "fedcba9876543210"]);
    expect(params(server)).toEqual([{ limit: "2", order: "desc" }, { limit: "2", cursor: "v1" }, { limit: "1" }, { limit: "1", cursor: "k1" }]);
    expect(server.calls.map((c) => c.url.pathname)).toEqual(["/v1/orgs/acme/projects/search/namespaces/docs/versions", "/v1/orgs/acme/projects/search/namespaces/docs/versions", "/v1/keys", "/v1/keys"]);
    expect(() => client.keys.list({ pageSize: 10_001 })).toThrow(RangeError);
  });

  it("iterates WAL entries by cursor, and walPage resumes from a saved one", async () => {
    const entry = (walId: string) => ({ walId, key: `k/${walId}.json`, hasArrowSidecar: false });
    const server = new FakeServer().answer(
      json(200, { entries: [entry("a1"), entry("a2")], nextCursor: "w1" }),
      json(200, { entries: [entry("a3")] }),
      json(200, { entries: [entry("a3")] }),
    );
    const ns = server.client().namespace("acme", "search", "docs");
    const wal = ns.wal({ pageSize: 2 });
    expect(server.calls).toHaveLength(0);
    expect((await wal).map((e) => e.walId)).toEqual(["a1", "a2", "a3"]);
    expect(await ns.walPage({ cursor: "w1" })).toEqual({ entries: [entry("a3")] });
    expect(params(server)).toEqual([{ limit: "2" }, { limit: "2", cursor: "w1" }, { cursor: "w1" }]);
    expect(server.calls.map((c) => c.url.pathname)).toEqual(Array(3).fill("/v1/orgs/acme/projects/search/namespaces/docs/wal"));
    expect(() => ns.walPage({ pageSize: 0 })).toThrow(RangeError);
  });

  it("stops between pages when the signal aborts, with the signal's reason", async () => {
    const server = new FakeServer().answer(names(["a", "b"], "n1"), names(["c"]));
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const name of server.client().project("acme", "search").listNamespaces({ signal: controller.signal })) {
        seen.push(name);
        if (name === "b") controller.abort();
      }
    })().catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(seen).toEqual(["a", "b"]);
    expect(server.calls).toHaveLength(1);
    // An aborted listing awaited as a whole rejects too, before any call.
    await expect(server.client().project("acme", "search").listNamespaces({ signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
    expect(server.calls).toHaveLength(1);
  });
});
