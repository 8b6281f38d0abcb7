/**
 * Engine-level query checks: a naive reference answer computed from
 * `engine.documents(path, { atVersion })` (float64, one document at a time,
 * no indexes), and a comparison that tolerates float32 rounding (and only
 * reorders rows whose scores are within that rounding).
 */
import { expect } from "vitest";
import {
  type NamespaceEngine,
  type NamespaceQueryResult,
  parseQueryRequest,
  type QueryRow,
  type SingleRankBy,
  type StoredDocument,
  type TextExpr,
} from "@skerry/namespace-engine";
import { matchesFilter, referenceBm25, referenceDistance } from "../../query/test/support/reference.ts";

/** The wire-case metric (the engine exports its lowercase one as DistanceMetric). */
type Metric = "COSINE" | "DOT" | "EUCLIDEAN";

interface RefRow {
  readonly id: string;
  readonly distance?: number;
  readonly score?: number;
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function single(docs: readonly StoredDocument[], matching: readonly StoredDocument[], rank: SingleRankBy, metric: Metric, k: number): RefRow[] {
  switch (rank.kind) {
    case "vector": {
      const rows = matching.filter((d) => d.vector !== undefined).map((d) => ({ id: d.id, distance: referenceDistance(metric, rank.vector, d.vector as Float32Array) }));
      return rows.sort((a, b) => a.distance - b.distance || byId(a.id, b.id)).slice(0, k);
    }
    case "sparse": {
      const rows: RefRow[] = [];
      for (const d of matching) {
        if (d.sparse === undefined) continue;
        let score = 0;
        let shared = false;
        for (let i = 0; i < rank.indices.length; i++) {
          const j = d.sparse.indices.indexOf(rank.indices[i] as number);
          if (j < 0) continue;
          shared = true;
          score += (rank.values[i] as number) * (d.sparse.values[j] as number);
        }
        if (shared) rows.push({ id: d.id, score });
      }
      return rows.sort((a, b) => (b.score as number) - (a.score as number) || byId(a.id, b.id)).slice(0, k);
    }
    case "bm25": {
      // Statistics over every live document; filters only select rows.
      const scores = referenceBm25(docs, rank.field, rank.query, {}, rank.lastAsPrefix);
      const keep = new Set(matching.map((d) => d.id));
      return [...scores]
        .filter(([id]) => keep.has(id))
        .map(([id, score]) => ({ id, score }))
        .sort((a, b) => b.score - a.score || byId(a.id, b.id))
        .slice(0, k);
    }
    case "text": {
      // Each clause with its own field's statistics; a document takes part when a clause matches it (every
      // matching document when the expression has no clause). NaN: no value.
      const leafScores = new Map<unknown, Map<string, number>>();
      const leaves = (e: TextExpr): void => {
        if (e.op === "bm25") leafScores.set(e, referenceBm25(docs, e.field, e.query, {}, e.lastAsPrefix));
        else if (e.op === "sparse") {
          // The dot product of each document sharing a dimension with the query.
          const dots = new Map<string, number>();
          for (const d of docs) {
            if (d.sparse === undefined) continue;
            for (let i = 0; i < e.indices.length; i++) {
              const j = d.sparse.indices.indexOf(e.indices[i] as number);
              if (j >= 0) dots.set(d.id, (dots.get(d.id) ?? 0) + (e.values[i] as number) * (d.sparse.values[j] as number));
            }
          }
          leafScores.set(e, dots);
        }
        else if (e.op === "Product" || e.op === "Saturate" || e.op === "Decay" || e.op === "Dist") leaves(e.arg);
        else if (e.op === "Sum" || e.op === "Max") e.args.forEach(leaves);
      };
      leaves(rank.expr);
      const attr = (d: StoredDocument, field: string, dateTime: boolean): number => {
        const v = d.attributes?.[field];
        if (!dateTime) return typeof v === "number" ? v : Number.NaN;
        if (typeof v !== "string") return Number.NaN;
        return Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(v) ? v : `${v}Z`);
      };
      const value = (e: TextExpr, d: StoredDocument, dateTime = false): number => {
        switch (e.op) {
          case "bm25":
          case "sparse":
            return leafScores.get(e)!.get(d.id) ?? 0;
          case "Const":
            return e.value;
          case "Attribute":
            return attr(d, e.field, dateTime);
          case "Filter":
            return matchesFilter(d, e.filter) ? 1 : 0;
          case "Product":
            return e.weight * value(e.arg, d);
          case "Dist":
            return Math.abs(value(e.arg, d, e.dateTime) - e.origin);
          case "Saturate":
          case "Decay": {
            const x = Math.max(0, value(e.arg, d));
            if (Number.isNaN(x)) return x;
            const num = e.op === "Saturate" ? x ** e.exponent : e.midpoint ** e.exponent;
            return num / (x ** e.exponent + e.midpoint ** e.exponent);
          }
          case "Sum":
            return e.args.map((a) => value(a, d)).reduce((t, v) => (Number.isNaN(v) ? t : t + v), 0);
          case "Max": {
            const vs = e.args.map((a) => value(a, d)).filter((v) => !Number.isNaN(v));
            return vs.length === 0 ? Number.NaN : Math.max(...vs);
          }
        }
      };
      const matched = new Set<string>();
      for (const scores of leafScores.values()) for (const id of scores.keys()) matched.add(id);
      return matching
        .filter((d) => leafScores.size === 0 || matched.has(d.id))
        .map((d) => {
          const v = value(rank.expr, d);
          return { id: d.id, score: Number.isNaN(v) ? 0 : v };
        })
        .sort((a, b) => b.score - a.score || byId(a.id, b.id))
        .slice(0, k);
    }
    case "attribute": {
      if (rank.field === "id") return matching.map((d) => ({ id: d.id })).sort((a, b) => (rank.order === "asc" ? byId(a.id, b.id) : byId(b.id, a.id))).slice(0, k);
      // Number-valued attributes only (what these tests rank by): numbers in order, then the rest by id.
      const num = (d: StoredDocument) => {
        const v = d.attributes?.[rank.field];
        return typeof v === "number" ? v : undefined;
      };
      const rows = [...matching].sort((a, b) => {
        const x = num(a);
        const y = num(b);
        if (x !== undefined && y !== undefined && x !== y) return rank.order === "asc" ? x - y : y - x;
        if (x !== undefined && y === undefined) return -1;
        if (x === undefined && y !== undefined) return 1;
        return byId(a.id, b.id);
      });
      return rows.slice(0, k).map((d) => ({ id: d.id }));
    }
  }
}

export interface ReferenceResult {
  rows: RefRow[];
  aggregations?: Record<string, number>;
  groups?: Map<string, number>;
  topK: number;
}

/** The reference answer of `json` over `docs` (the live documents of one version). */
export function referenceQuery(docs: readonly StoredDocument[], json: unknown, metric: Metric): ReferenceResult {
  const request = parseQueryRequest(json);
  const filters = request.filters;
  const matching = filters === undefined ? docs : docs.filter((d) => matchesFilter(d, filters));
  const out: ReferenceResult = { rows: [], topK: request.topK };
  if (request.aggregateBy !== undefined) {
    const names = Object.keys(request.aggregateBy);
    if (request.groupBy === undefined) out.aggregations = Object.fromEntries(names.map((n) => [n, matching.length]));
    else {
      const groups = new Map<string, number>();
      for (const d of matching) {
        const key = JSON.stringify(Object.fromEntries((request.groupBy ?? []).map((g) => [g, d.attributes?.[g] ?? null])));
        groups.set(key, (groups.get(key) ?? 0) + 1);
      }
      out.groups = groups;
    }
  }
  const rank = request.rankBy;
  const m = request.distanceMetric ?? metric;
  if (rank === undefined) {
    if (request.aggregateBy === undefined) out.rows = single(docs, matching, { kind: "attribute", field: "id", order: "asc", path: [] }, m, request.topK);
  } else if (rank.kind === "rrf") {
    const window = Math.max(rank.window, request.topK);
    const fused = new Map<string, number>();
    for (const sub of rank.queries) {
      single(docs, matching, sub, m, window).forEach((row, r) => {
        fused.set(row.id, (fused.get(row.id) ?? 0) + 1 / (rank.k + r + 1));
      });
    }
    out.rows = [...fused]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || byId(a.id, b.id))
      .slice(0, request.topK);
  } else {
    out.rows = single(docs, matching, rank, m, request.topK);
    if (request.distanceThreshold !== undefined) out.rows = out.rows.filter((r) => (r.distance as number) <= (request.distanceThreshold as number));
  }
  return out;
}

const TOLERANCE = 1e-4;

function value(row: RefRow | QueryRow): number | undefined {
  return row.distance ?? row.score;
}

/** Asserts that `actual` answers like `expected` (row ids in order up to float32 near-ties, values close, aggregations equal). */
export function expectLikeReference(actual: NamespaceQueryResult, expected: ReferenceResult, label: string): void {
  expect(actual.rows.length, `${label}: row count`).toBe(expected.rows.length);
  const actualIds = actual.rows.map((r) => r.id);
  const expectedIds = expected.rows.map((r) => r.id);
  expected.rows.forEach((row, i) => {
    const got = actual.rows[i] as QueryRow;
    const want = value(row);
    const have = value(got);
    if (want === undefined) {
      expect(got.id, `${label}: row ${i}`).toBe(row.id);
      return;
    }
    expect(have, `${label}: value of row ${i}`).toBeDefined();
    expect(Math.abs((have as number) - want), `${label}: value of row ${i} (${got.id} vs ${row.id})`).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(want)));
    if (got.id !== row.id) {
      // Only a near-tie may reorder: the expected id must sit within rounding of this rank.
      const j = actualIds.indexOf(row.id);
      const near = j >= 0 ? Math.abs((value(actual.rows[j] as QueryRow) as number) - want) : Number.POSITIVE_INFINITY;
      expect(near, `${label}: row ${i} is ${got.id}, expected ${row.id} (not a near-tie)`).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(want)));
    }
  });
  if (actualIds.length === expectedIds.length && actual.rows.every((r) => value(r) === undefined)) expect(actualIds, label).toEqual(expectedIds);
  if (expected.aggregations !== undefined) expect(actual.aggregations, `${label}: aggregations`).toEqual(expected.aggregations);
  if (expected.groups !== undefined) {
    const groups = actual.aggregationGroups ?? [];
    // topK caps the groups: compare the ones returned, and that they are the largest.
    for (const g of groups) expect(g.aggregations["count"], `${label}: group ${JSON.stringify(g.group)}`).toBe(expected.groups.get(JSON.stringify(g.group)));
    expect(groups.length, `${label}: group count`).toBe(Math.min(expected.groups.size, expected.topK));
    const sizes = [...expected.groups.values()].sort((a, b) => b - a);
    groups.forEach((g, i) => {
      expect(g.aggregations["count"], `${label}: group ${i} is among the largest`).toBe(sizes[i]);
    });
  }
}

/** `engine.query` beside the reference over `engine.documents` at the same version. */
export async function checkAgainstReference(engine: NamespaceEngine, path: string, json: Record<string, unknown>, metric: Metric, label: string): Promise<NamespaceQueryResult> {
  const result = await engine.query(path, json);
  const docs = await engine.documents(path, { atVersion: result.version });
  expectLikeReference(result, referenceQuery(docs, json, metric), label);
  return result;
}
