import { describe, expect, it } from "vitest";
import { isInvalidArgument, MAX_LISTING_PAGE } from "@skerry/namespace-engine";
import { errorOf, memoryEngine } from "./support/harness.ts";

async function allNamePages(engine: ReturnType<typeof memoryEngine>["engine"], limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await engine.listNamespacesPage("acme", "search", { after, limit });
    pages.push(page.namespaces);
    if (!page.more) return pages;
    after = page.namespaces.at(-1);
  }
}

describe("listing pages", () => {
  it("pages a project's live namespace names in sorted order, skipping deleted ones", async () => {
    const { engine } = memoryEngine();
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    for (const n of names) await engine.createNamespace(`acme/search/${n}`);
    await engine.createNamespace("acme/other/x");
    await engine.deleteNamespace("acme/search/c");
    await engine.deleteNamespace("acme/search/f");
    expect(await allNamePages(engine, 2)).toEqual([["a", "b"], ["d", "e"], ["g"]]);
    expect(await allNamePages(engine, 5)).toEqual([["a", "b", "d", "e", "g"]]);
    // A page that ends exactly at the last live name says no more follow, even with deleted markers after it.
    await engine.deleteNamespace("acme/search/g");
    expect(await engine.listNamespacesPage("acme", "search", { after: "b", limit: 2 })).toEqual({ namespaces: ["d", "e"], more: false });
    expect(await engine.listNamespacesPage("acme", "search", { after: "zz", limit: 2 })).toEqual({ namespaces: [], more: false });
    expect(await engine.listNamespacesPage("acme", "search", { after: "b", limit: 100 })).toEqual({ namespaces: (await engine.listNamespaces("acme", "search")).slice(2), more: false });
  });

  it("resumes after a name even when that name is gone and others were added before it", async () => {
    const { engine } = memoryEngine();
    for (const n of ["b", "d", "f"]) await engine.createNamespace(`acme/search/${n}`);
    const first = await engine.listNamespacesPage("acme", "search", { limit: 2 });
    expect(first).toEqual({ namespaces: ["b", "d"], more: true });
    await engine.deleteNamespace("acme/search/d");
    await engine.createNamespace("acme/search/a");
    await engine.createNamespace("acme/search/e");
    expect(await engine.listNamespacesPage("acme", "search", { after: "d", limit: 2 })).toEqual({ namespaces: ["e", "f"], more: false });
  });

  it("pages stored versions ascending and newest first", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace("acme/search/docs");
    for (let i = 0; i < 6; i++) await engine.upsert("acme/search/docs", [{ id: `d${i}` }]);
    const all = await engine.listVersions("acme/search/docs");
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const pages = async (order: "asc" | "desc") => {
      const out: number[][] = [];
      let after: number | undefined;
      for (;;) {
        const page = await engine.listVersionsPage("acme/search/docs", { order, after, limit: 3 });
        out.push(page.versions);
        if (!page.more) return out;
        after = page.versions.at(-1);
      }
    };
    expect(await pages("asc")).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(await pages("desc")).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
    expect(await engine.listVersionsPage("acme/search/docs", { order: "desc", after: 4, limit: 10 })).toEqual({ versions: [3, 2, 1], more: false });
    expect(await engine.listVersionsPage("acme/search/docs", { order: "asc", after: 7, limit: 10 })).toEqual({ versions: [], more: false });
  });

  it("refuses bad limits, positions and orders", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace("acme/search/docs");
    for (const limit of [0, -1, 1.5, MAX_LISTING_PAGE + 1]) {
      expect(isInvalidArgument(await errorOf(engine.listNamespacesPage("acme", "search", { limit })))).toBe(true);
      expect(isInvalidArgument(await errorOf(engine.listVersionsPage("acme/search/docs", { order: "asc", limit })))).toBe(true);
    }
    expect(isInvalidArgument(await errorOf(engine.listNamespacesPage("acme", "search", { after: "../x", limit: 1 })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.listVersionsPage("acme/search/docs", { order: "asc", after: 0, limit: 1 })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.listVersionsPage("acme/search/docs", { order: "sideways" as "asc", limit: 1 })))).toBe(true);
  });
});
