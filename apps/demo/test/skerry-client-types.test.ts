/**
 * `@skerry/client`'s hand-written types checked against the server's zod
 * schemas (the source of /openapi.json): every request type the client
 * sends is accepted by the schema that validates it, and every response
 * schema's type is accepted by the client's type for it (checked by
 * `pnpm typecheck`: a mismatch fails to compile). The error codes are the
 * same set, and what the filter and rankBy builders write passes both the
 * route's schema and the query module's parser at run time.
 */
import type { z } from "@hono/zod-openapi";
import type * as C from "@skerry/client";
import { filter as f, rankBy, SERVER_ERROR_CODES, SkerryError } from "@skerry/client";
import { parseQueryRequest } from "@skerry/namespace-engine";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type ApiErrorCode, STATUS_OF } from "../src/http/api-error.ts";
import * as S from "../src/http/schemas.ts";

/**
 * JSON as it travels: no readonly, tuples as arrays, and an optional
 * property never `undefined` (zod types optional keys as `T | undefined`,
 * the client as absent-or-T; on the wire they are the same).
 */
type Wire<T> = T extends readonly (infer E)[] ? Wire<E>[] : T extends object ? { -readonly [K in keyof T]: Wire<Exclude<T[K], undefined>> } : T;
type In<Schema extends z.ZodType> = Wire<z.input<Schema>>;
type Out<Schema extends z.ZodType> = Wire<z.output<Schema>>;

describe("client request types are accepted by the server's schemas", () => {
  it("compiles", () => {
    expectTypeOf<Wire<{ documents: C.DocumentInput[]; ifVersion?: number }>>().toExtend<In<typeof S.UpsertBody>>();
    expectTypeOf<Wire<{ patches: C.DocumentPatch[]; ifVersion?: number }>>().toExtend<In<typeof S.PatchBody>>();
    expectTypeOf<Wire<{ ids: string[]; ifVersion?: number }>>().toExtend<In<typeof S.DeleteBody>>();
    expectTypeOf<Wire<{ ids: string[]; atVersion?: number; consistency?: C.Consistency }>>().toExtend<In<typeof S.GetDocumentsBody>>();
    expectTypeOf<Wire<{ name: string } & C.CreateNamespaceOptions>>().toExtend<In<typeof S.CreateNamespaceBody>>();
    expectTypeOf<Wire<{ labels: C.Labels; ifVersion?: number }>>().toExtend<In<typeof S.UpdateLabelsBody>>();
    expectTypeOf<Wire<{ schema: C.NamespaceSchemaInput; ifVersion?: number }>>().toExtend<In<typeof S.UpdateSchemaBody>>();
    expectTypeOf<Wire<{ target: string } & C.ForkOptions>>().toExtend<In<typeof S.BranchBody>>();
    expectTypeOf<Wire<{ target: string } & C.ForkOptions>>().toExtend<In<typeof S.CopyBody>>();
    expectTypeOf<Wire<C.GcOptions>>().toExtend<In<typeof S.GcBody>>();
    expectTypeOf<Wire<C.RepairOptions>>().toExtend<In<typeof S.RepairBody>>();
    expectTypeOf<Wire<{ force?: boolean }>>().toExtend<In<typeof S.CompactBody>>();
    expectTypeOf<Wire<{ graceMs?: number }>>().toExtend<In<typeof S.WalGcBody>>();
    expectTypeOf<Wire<C.CreateKeyRequest>>().toExtend<In<typeof S.CreateKeyBody>>();
    expectTypeOf<Wire<{ filter: C.Filter; ifVersion?: number; maxTargets?: number; allowPartial?: boolean }>>().toExtend<In<typeof S.DeleteByFilterBody>>();
    expectTypeOf<Wire<{ filter: C.Filter; patch: Omit<C.DocumentPatch, "id">; ifVersion?: number; maxTargets?: number; allowPartial?: boolean }>>().toExtend<
      In<typeof S.PatchByFilterBody>
    >();
    expectTypeOf<Wire<C.QueryRequest & { atVersion?: number; consistency?: C.Consistency }>>().toExtend<In<typeof S.QueryBody>>();
  });
});

describe("server response types are accepted by the client's types", () => {
  it("compiles", () => {
    expectTypeOf<Out<typeof S.WriteResultSchema>>().toExtend<Wire<C.WriteResult>>();
    expectTypeOf<Out<typeof S.NamespaceInfoSchema>>().toExtend<Wire<C.NamespaceInfo>>();
    expectTypeOf<Out<typeof S.SchemaResultSchema>>().toExtend<Wire<C.SchemaResult>>();
    expectTypeOf<Out<typeof S.DeleteNamespaceResultSchema>>().toExtend<Wire<C.DeleteNamespaceResult>>();
    expectTypeOf<Out<typeof S.VersionsSchema>>().toExtend<Wire<C.VersionsPage>>();
    expectTypeOf<Out<typeof S.NamespaceListSchema>>().toExtend<Wire<C.NamespaceListPage>>();
    expectTypeOf<Out<typeof S.KeyListSchema>>().toExtend<Wire<C.KeyListPage>>();
    expectTypeOf<Out<typeof S.ManifestViewSchema>>().toExtend<Wire<C.ManifestView>>();
    expectTypeOf<Out<typeof S.GetDocumentsResultSchema>>().toExtend<Wire<C.GetDocumentsResult>>();
    expectTypeOf<Out<typeof S.DocumentSchema>>().toExtend<Wire<C.Document>>();
    expectTypeOf<Out<typeof S.ScanResultSchema>>().toExtend<Wire<C.ScanPage>>();
    expectTypeOf<Out<typeof S.QueryResultSchema>>().toExtend<Wire<C.QueryResult>>();
    expectTypeOf<Out<typeof S.DeleteByFilterResultSchema>>().toExtend<Wire<C.DeleteByFilterResult>>();
    expectTypeOf<Out<typeof S.PatchByFilterResultSchema>>().toExtend<Wire<C.PatchByFilterResult>>();
    expectTypeOf<Out<typeof S.WarmResultSchema>>().toExtend<Wire<C.WarmResult>>();
    expectTypeOf<Out<typeof S.UnpinResultSchema>>().toExtend<Wire<C.UnpinResult>>();
    expectTypeOf<Out<typeof S.GarbageReportSchema>>().toExtend<Wire<C.GarbageReport>>();
    expectTypeOf<Out<typeof S.RepairReportSchema>>().toExtend<Wire<C.RepairReport>>();
    expectTypeOf<Out<typeof S.EngineStatsSchema>>().toExtend<Wire<C.EngineStats>>();
    expectTypeOf<Out<typeof S.ReportSchema>>().toExtend<Wire<C.OperationReport>>();
    expectTypeOf<Out<typeof S.WalListSchema>>().toExtend<{ entries: Wire<C.WalEntry>[] }>();
    expectTypeOf<Out<typeof S.KeyListSchema>>().toExtend<{ keys: Wire<C.KeyInfo>[] }>();
    expectTypeOf<Out<typeof S.CreatedKeySchema>>().toExtend<Wire<C.CreatedKey>>();
  });
});

describe("client response types name every field the server sends", () => {
  it("compiles", () => {
    expectTypeOf<keyof Out<typeof S.WriteResultSchema>>().toEqualTypeOf<keyof C.WriteResult>();
    expectTypeOf<keyof Out<typeof S.WriteBatchResultSchema>>().toEqualTypeOf<keyof C.WriteBatchResult>();
    expectTypeOf<keyof Out<typeof S.NamespaceInfoSchema>>().toEqualTypeOf<keyof C.NamespaceInfo>();
    expectTypeOf<keyof Out<typeof S.DeleteNamespaceResultSchema>>().toEqualTypeOf<keyof C.DeleteNamespaceResult>();
    expectTypeOf<keyof Out<typeof S.ManifestViewSchema>>().toEqualTypeOf<keyof C.ManifestView>();
    expectTypeOf<keyof Out<typeof S.ContainerViewSchema>>().toEqualTypeOf<keyof C.ContainerView>();
    expectTypeOf<keyof Out<typeof S.GetDocumentsResultSchema>>().toEqualTypeOf<keyof C.GetDocumentsResult>();
    expectTypeOf<keyof Out<typeof S.DocumentSchema>>().toEqualTypeOf<keyof C.Document>();
    expectTypeOf<keyof Out<typeof S.ScanResultSchema>>().toEqualTypeOf<keyof C.ScanPage>();
    expectTypeOf<keyof Out<typeof S.NamespaceListSchema>>().toEqualTypeOf<keyof C.NamespaceListPage>();
    expectTypeOf<keyof Out<typeof S.VersionsSchema>>().toEqualTypeOf<keyof C.VersionsPage>();
    expectTypeOf<keyof Out<typeof S.KeyListSchema>>().toEqualTypeOf<keyof C.KeyListPage>();
    expectTypeOf<keyof Out<typeof S.QueryResultSchema>>().toEqualTypeOf<keyof C.QueryResult>();
    expectTypeOf<keyof Out<typeof S.QueryResultSchema>["rows"][number]>().toEqualTypeOf<keyof C.QueryRow>();
    expectTypeOf<keyof Out<typeof S.DeleteByFilterResultSchema>>().toEqualTypeOf<keyof C.DeleteByFilterResult>();
    expectTypeOf<keyof Out<typeof S.PatchByFilterResultSchema>>().toEqualTypeOf<keyof C.PatchByFilterResult>();
    expectTypeOf<keyof Out<typeof S.WarmResultSchema>>().toEqualTypeOf<keyof C.WarmResult>();
    expectTypeOf<keyof Out<typeof S.UnpinResultSchema>>().toEqualTypeOf<keyof C.UnpinResult>();
    expectTypeOf<keyof Out<typeof S.GarbageReportSchema>>().toEqualTypeOf<keyof C.GarbageReport>();
    expectTypeOf<keyof Out<typeof S.RepairReportSchema>>().toEqualTypeOf<keyof C.RepairReport>();
    expectTypeOf<keyof Out<typeof S.EngineStatsSchema>>().toEqualTypeOf<keyof C.EngineStats>();
    expectTypeOf<keyof Out<typeof S.WalListSchema>["entries"][number]>().toEqualTypeOf<keyof C.WalEntry>();
    expectTypeOf<keyof Out<typeof S.KeyInfoSchema>>().toEqualTypeOf<keyof C.KeyInfo>();
    expectTypeOf<keyof Out<typeof S.CreatedKeySchema>>().toEqualTypeOf<keyof C.CreatedKey>();
    // and every field a request may carry
    expectTypeOf<keyof In<typeof S.QueryBody>>().toEqualTypeOf<keyof C.QueryRequest | "atVersion" | "consistency">();
    expectTypeOf<keyof In<typeof S.DocumentInputSchema>>().toEqualTypeOf<keyof C.DocumentInput>();
    expectTypeOf<keyof In<typeof S.DocumentPatchSchema>>().toEqualTypeOf<keyof C.DocumentPatch>();
    expectTypeOf<keyof In<typeof S.WriteBatchBody>>().toEqualTypeOf<keyof C.WriteBatch | "ifVersion">();
    expectTypeOf<keyof In<typeof S.UpdateTextFieldsBody>>().toEqualTypeOf<"textFields" | "ifVersion">();
    expectTypeOf<keyof In<typeof S.UpdateSchemaBody>>().toEqualTypeOf<"schema" | "ifVersion">();
    expectTypeOf<keyof In<typeof S.SchemaInputSchema>>().toEqualTypeOf<keyof C.NamespaceSchemaInput>();
    expectTypeOf<keyof Out<typeof S.SchemaResultSchema>>().toEqualTypeOf<keyof C.SchemaResult>();
    expectTypeOf<keyof Out<typeof S.AttributeSchemaSchema>>().toEqualTypeOf<keyof C.AttributeSchema>();
    expectTypeOf<keyof In<typeof S.TextFieldOptionsSchema>>().toEqualTypeOf<keyof C.TextFieldOptions>();
    expectTypeOf<keyof Out<typeof S.NamespaceInfoSchema>["textFields"][string]>().toEqualTypeOf<keyof C.ResolvedTextFieldOptions>();
    expectTypeOf<keyof In<typeof S.CreateNamespaceBody>>().toEqualTypeOf<"name" | keyof C.CreateNamespaceOptions>();
    expectTypeOf<keyof In<typeof S.BranchBody>>().toEqualTypeOf<"target" | keyof C.ForkOptions>();
    expectTypeOf<keyof In<typeof S.GcBody>>().toEqualTypeOf<keyof C.GcOptions>();
    expectTypeOf<keyof In<typeof S.RepairBody>>().toEqualTypeOf<keyof C.RepairOptions>();
    expectTypeOf<keyof In<typeof S.ListQuery>>().toEqualTypeOf<"cursor" | "limit">();
    expectTypeOf<keyof In<typeof S.VersionsQuery>>().toEqualTypeOf<"cursor" | "limit" | "order">();
    expectTypeOf<keyof In<typeof S.ScanQuery>>().toEqualTypeOf<"atVersion" | "consistency" | "cursor" | "after" | "limit">();
  });
});

describe("error codes", () => {
  it("are the server's codes, with the server's retry-after statuses retryable", () => {
    expectTypeOf<C.ServerErrorCode>().toEqualTypeOf<ApiErrorCode>();
    expect([...SERVER_ERROR_CODES].sort()).toEqual(Object.keys(STATUS_OF).sort());
    for (const code of SERVER_ERROR_CODES) {
      const retryable = new SkerryError(code, code, { status: STATUS_OF[code] }).retryable;
      // 429 and 503 carry Retry-After; 409 Conflict is "nothing was applied, retrying is safe".
      expect([code, retryable]).toEqual([code, STATUS_OF[code] === 429 || STATUS_OF[code] === 503 || code === "Conflict"]);
    }
  });
});

describe("builder output", () => {
  const filters: C.Filter[] = [
    f.and(f.eq("category", "books"), f.notEq("in_stock", false), f.lt("price", 20), f.lte("price", 20), f.gt("year", 1990), f.gte("name", "m")),
    f.or(f.in("category", ["a", "b"]), f.notIn("id", ["x"]), f.containsAny("tags", ["a", 1]), f.containsAll("tags", [])),
    f.not(f.and(f.glob("name", "a*"), f.iglob("name", "A?"), f.regex("name", "^a.+$"), f.exists("price"))),
    f.or(f.anyLt("scores", 1), f.anyLte("scores", 1), f.anyGt("scores", "a"), f.anyGte("scores", "b")),
    f.and(f.containsAllTokens("title", "quick fox"), f.containsAnyToken("title", ["qu", "fox"], { lastAsPrefix: true })),
  ];
  const rankings: C.RankBy[] = [
    rankBy.vector([0.1, 0.2]),
    rankBy.ann([0.1, 0.2]),
    rankBy.sparse({ indices: [1, 5], values: [0.5, 1] }),
    rankBy.bm25("title", "fox"),
    rankBy.sum(rankBy.product(2, rankBy.bm25("title", "fox")), rankBy.max(rankBy.bm25("body", "fox"), rankBy.bm25("title", "dog"))),
    rankBy.asc("price"),
    rankBy.desc("id"),
    rankBy.order(["category", "asc"], ["price", "desc"]),
    rankBy.rrf([rankBy.vector([1, 0]), rankBy.bm25("title", "fox"), rankBy.desc("price")], { k: 10, window: 50, weights: [2, 1, 1] }),
    rankBy.rrf([rankBy.sparse({ indices: [0], values: [1] })]),
  ];

  it("passes the route's schema and the query module's parser", () => {
    for (const filter of filters) {
      for (const rank of rankings) {
        const request = JSON.parse(JSON.stringify({ filters: filter, rankBy: rank, topK: 5, includeAttributes: ["price"] }));
        expect(S.QueryBody.safeParse(request).success).toBe(true);
        expect(() => parseQueryRequest(request)).not.toThrow();
      }
      expect(S.DeleteByFilterBody.safeParse(JSON.parse(JSON.stringify({ filter }))).success).toBe(true);
    }
    const diverse = { rankBy: rankBy.asc("price"), limitPer: { attributes: ["category"], limit: 2 } };
    expect(() => parseQueryRequest(JSON.parse(JSON.stringify(diverse)))).not.toThrow();
  });

  it("is parsed to the meaning the builder names", () => {
    const parsed = parseQueryRequest(JSON.parse(JSON.stringify({ filters: filters[3], rankBy: rankings[8] })));
    expect(parsed.filters).toMatchObject({ kind: "Or", filters: [{ kind: "AnyCompare", op: "Lt" }, { op: "Lte" }, { op: "Gt" }, { op: "Gte" }] });
    expect(parsed.rankBy).toMatchObject({ kind: "rrf", k: 10, window: 50, weights: [2, 1, 1], queries: [{ kind: "vector", mode: "kNN" }, { kind: "bm25" }, { kind: "attribute", order: "desc" }] });
    const tokens = parseQueryRequest(JSON.parse(JSON.stringify({ filters: filters[4] })));
    expect(tokens.filters).toMatchObject({ kind: "And", filters: [{ kind: "Tokens", op: "ContainsAllTokens", lastAsPrefix: false }, { kind: "Tokens", lastAsPrefix: true }] });
  });
});
