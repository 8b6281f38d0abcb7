import { describe, expect, it } from "vitest";
import { json } from "./support/fake-server.ts";
import { FakeServer } from "./support/fake-server.ts";

const page = (version: number, ids: string[], next?: string) => json(200, { version, documents: ids.map((id) => ({ id })), ...(next === undefined ? {} : { next }) });

describe("document scans", () => {
  it("iterates every page in id order, reading the first page's version throughout", async () => {
    const server = new FakeServer().answer(page(7, ["a", "b"], "b"), page(7, ["c", "d"], "d"), page(7, ["e"]));
    const ns = server.client().namespace("acme", "search", "docs");
    const ids: string[] = [];
    for await (const doc of ns.scan({ pageSize: 2 })) ids.push(doc.id);
    expect(ids).toEqual(["a", "b", "c", "d", "e"]);
    const params = server.calls.map((c) => Object.fromEntries(c.url.searchParams));
    expect(params).toEqual([{ limit: "2" }, { limit: "2", after: "b", atVersion: "7" }, { limit: "2", after: "d", atVersion: "7" }]);
    expect(server.calls.every((c) => c.url.pathname === "/v1/orgs/acme/projects/search/namespaces/docs/documents")).toBe(true);
  });

  it("stops fetching when the loop stops", async () => {
    const server = new FakeServer().answer(page(3, ["a", "b"], "b"), page(3, ["c"]));
    const ns = server.client().namespace("acme", "search", "docs");
    for await (const doc of ns.scan()) {
      expect(doc.id).toBe("a");
      break;
    }
    expect(server.calls).toHaveLength(1);
  });

  it("yields pages with scanPages, from `after` and at a version with at()", async () => {
    const server = new FakeServer().answer(page(2, ["k"], "k"), page(2, []));
    const ns = server.client().namespace("acme", "search", "docs");
    const pages = [];
    for await (const p of ns.at(2).scanPages({ after: "j", consistency: "eventual" })) pages.push(p);
    expect(pages.map((p) => p.documents.length)).toEqual([1, 0]);
    expect(Object.fromEntries(server.calls[0]?.url.searchParams ?? [])).toEqual({ atVersion: "2", after: "j", consistency: "eventual" });
    expect(() => ns.at(0)).toThrow(RangeError);
  });
});
