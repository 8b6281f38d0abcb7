/**
 * The OpenAPI description of the query grammar: the `Filter` and `RankBy`
 * components (docs/query.md). Filters and rankings are JSON tuples, which
 * OpenAPI 3.0 cannot type by position, so each variant is an array schema
 * with its length bounds, a description naming its positions, an example,
 * and `x-skerry-tuple`: the schema of each position, in order (a position
 * with `optional: true` may be left off the end).
 *
 * Validation is NOT done by these schemas (zod sees an array of anything):
 * the query module's parser checks filters and rankings in full and answers
 * 400 InvalidQuery with the path of every problem, which a zod union over
 * tuples could not do as precisely.
 */
import { z } from "@hono/zod-openapi";

type SchemaObject = Record<string, unknown>;

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });
const str: SchemaObject = { type: "string" };
const num: SchemaObject = { type: "number" };
const scalar: SchemaObject = { oneOf: [str, num, { type: "boolean" }] };
const ordered: SchemaObject = { oneOf: [str, num] };
const field = (description: string): SchemaObject => ({ type: "string", description });
const ops = (...values: string[]): SchemaObject => ({ type: "string", enum: values });

interface Position {
  readonly name: string;
  readonly schema: SchemaObject;
  readonly optional?: boolean;
}

function tuple(positions: readonly Position[], description: string, example: unknown): SchemaObject {
  const required = positions.filter((p) => p.optional !== true).length;
  return {
    type: "array",
    minItems: required,
    maxItems: positions.length,
    description: `[${positions.map((p) => (p.optional === true ? `${p.name}?` : p.name)).join(", ")}]: ${description}`,
    example,
    "x-skerry-tuple": positions.map((p) => ({ name: p.name, ...p.schema, ...(p.optional === true ? { optional: true } : {}) })),
  };
}

const attr = { name: "field", schema: field("A top-level attribute, or id") };

const FILTER_VARIANTS: SchemaObject[] = [
  tuple([attr, { name: "op", schema: ops("Eq", "NotEq") }, { name: "value", schema: scalar }], "same type and equal (NotEq: not Eq)", ["category", "Eq", "books"]),
  tuple([attr, { name: "op", schema: ops("Lt", "Lte", "Gt", "Gte") }, { name: "value", schema: ordered }], "numbers, or strings by UTF-16 code units", ["price", "Lt", 20]),
  tuple(
    [attr, { name: "op", schema: ops("In", "NotIn", "ContainsAny", "ContainsAll") }, { name: "values", schema: { type: "array", items: scalar, maxItems: 10_000 } }],
    "In/NotIn: Eq any; ContainsAny/ContainsAll: array values holding any/all",
    ["color", "In", ["red", "blue"]],
  ),
  tuple(
    [attr, { name: "op", schema: ops("Glob", "IGlob", "Regex") }, { name: "pattern", schema: { type: "string", maxLength: 1024 } }],
    "Glob (*, ?, [a-z], [!a]; IGlob ignores case) or an RE2 pattern found anywhere in the value",
    ["name", "Glob", "kettle*"],
  ),
  tuple([attr, { name: "op", schema: ops("AnyLt", "AnyLte", "AnyGt", "AnyGte") }, { name: "value", schema: ordered }], "array values with an element that compares", ["scores", "AnyGte", 90]),
  tuple(
    [
      { name: "field", schema: field("A text field") },
      { name: "op", schema: ops("ContainsAllTokens", "ContainsAnyToken") },
      { name: "text", schema: { oneOf: [str, { type: "array", items: str }] } },
      { name: "options", schema: { type: "object", properties: { lastAsPrefix: { type: "boolean" } }, additionalProperties: false }, optional: true },
    ],
    "documents whose text field holds all / any of the tokens (lastAsPrefix: the last token is a prefix)",
    ["title", "ContainsAllTokens", "quick fox"],
  ),
  tuple(
    [
      { name: "field", schema: field("A text field") },
      { name: "op", schema: ops("ContainsTokenSequence") },
      { name: "text", schema: { oneOf: [str, { type: "array", items: str }] } },
    ],
    "documents whose text field holds the tokens consecutively, in order (a phrase)",
    ["title", "ContainsTokenSequence", "quick brown fox"],
  ),
  tuple(
    [
      { name: "field", schema: field("A text field") },
      { name: "op", schema: ops("Fuzzy") },
      { name: "text", schema: str },
      {
        name: "options",
        optional: true,
        schema: {
          type: "object",
          additionalProperties: false,
          properties: {
            maxEditDistance: {
              type: "array",
              minItems: 1,
              maxItems: 8,
              items: {
                type: "object",
                required: ["distance", "minQueryChars"],
                additionalProperties: false,
                properties: { distance: { type: "integer", minimum: 0, maximum: 4 }, minQueryChars: { type: "integer", description: "at least 3 * (distance + 1)" } },
              },
            },
            caseSensitive: { type: "boolean" },
          },
        },
      },
    ],
    "documents whose text field holds, for every token of the text, a token within its edit distance (by the token's length; default 3-5 characters exact, 6-8 one edit, 9+ two)",
    ["title", "Fuzzy", "turbopufer", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }, { distance: 2, minQueryChars: 9 }] }],
  ),
  tuple(
    [
      attr,
      { name: "op", schema: ops("FuzzySubstring") },
      { name: "text", schema: { type: "string", maxLength: 1024 } },
      {
        name: "options",
        optional: true,
        schema: {
          type: "object",
          additionalProperties: false,
          properties: {
            maxEditDistance: {
              type: "array",
              minItems: 1,
              maxItems: 8,
              items: {
                type: "object",
                required: ["distance", "minQueryChars"],
                additionalProperties: false,
                properties: { distance: { type: "integer", minimum: 0, maximum: 4 }, minQueryChars: { type: "integer", description: "at least 3 * (distance + 1)" } },
              },
            },
            caseSensitive: { type: "boolean" },
          },
        },
      },
    ],
    "string values holding a substring within the text's edit distance of it (by the text's length; default 3-5 characters exact, 6-8 one edit, 9+ two)",
    ["company", "FuzzySubstring", "turbopufer", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }], caseSensitive: false }],
  ),
  tuple([attr, { name: "op", schema: ops("Exists") }], "present and not null", ["discontinued", "Exists"]),
  tuple([{ name: "op", schema: ops("And", "Or") }, { name: "filters", schema: { type: "array", items: ref("Filter"), minItems: 1 } }], "all / any of the filters", [
    "And",
    [
      ["category", "Eq", "books"],
      ["price", "Lt", 20],
    ],
  ]),
  tuple([{ name: "op", schema: ops("Not") }, { name: "filter", schema: ref("Filter") }], "the filter does not match", ["Not", ["category", "Eq", "toys"]]),
];

const orderKey = tuple(
  [
    { name: "field", schema: field("An attribute, or id") },
    { name: "direction", schema: ops("asc", "desc") },
    {
      name: "options",
      schema: { type: "object", properties: { missing: { type: "string", enum: ["last", "first"], description: "where rows without a value go (default last)" } }, additionalProperties: false },
      optional: true,
    },
  ],
  "attribute order; ties by id",
  ["price", "desc"],
);

const TEXT_VARIANTS: SchemaObject[] = [
  tuple(
    [
      { name: "field", schema: field("A text field") },
      { name: "op", schema: ops("BM25") },
      { name: "text", schema: str },
      { name: "options", schema: { type: "object", properties: { lastAsPrefix: { type: "boolean" } }, additionalProperties: false }, optional: true },
    ],
    "BM25; rows carry score (lastAsPrefix: the last token stands for the first 64 terms it begins)",
    ["title", "BM25", "quick fo", { lastAsPrefix: true }],
  ),
  tuple(
    [
      { name: "op", schema: ops("Sum", "Max") },
      { name: "clauses", schema: { type: "array", items: { oneOf: [ref("TextRanking"), num] }, minItems: 1 } },
    ],
    "sum / largest of the operands (a BM25 clause that does not match counts 0; at most 16 BM25 clauses, 64 nodes, 8 levels)",
    [
      "Sum",
      [
        ["title", "BM25", "fox"],
        ["body", "BM25", "fox"],
      ],
    ],
  ),
  tuple(
    [
      { name: "op", schema: ops("Product") },
      { name: "weight", schema: { oneOf: [num, ref("TextRanking")] } },
      { name: "clause", schema: { oneOf: [ref("TextRanking"), num] } },
    ],
    "a clause's score times a finite weight (weight first or last)",
    ["Product", 2, ["title", "BM25", "fox"]],
  ),
  tuple(
    [
      { name: "op", schema: ops("Max") },
      { name: "a", schema: { oneOf: [ref("TextRanking"), num] } },
      { name: "b", schema: { oneOf: [ref("TextRanking"), num] } },
    ],
    "the larger of two operands (e.g. a floor: [\"Max\", 0, [\"Attribute\", \"delta\"]])",
    ["Max", 0, ["Attribute", "delta"]],
  ),
  tuple(
    [{ name: "op", schema: ops("Attribute") }, { name: "field", schema: field("A number attribute") }],
    "the document's number value of the attribute (none without one: Sum adds 0, Max skips it, a ranking scores it 0)",
    ["Attribute", "clicks"],
  ),
  tuple(
    [
      { name: "op", schema: ops("Saturate", "Decay") },
      { name: "operand", schema: ref("TextRanking") },
      {
        name: "options",
        schema: {
          type: "object",
          required: ["midpoint"],
          additionalProperties: false,
          properties: { midpoint: { oneOf: [{ type: "number", exclusiveMinimum: true, minimum: 0 }, { type: "string", pattern: "^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$" }] }, exponent: { type: "number", exclusiveMinimum: true, minimum: 0 } },
        },
      },
    ],
    "v = max(operand, 0); Saturate: v^e / (v^e + m^e), Decay: m^e / (v^e + m^e) (m the midpoint, e the exponent, default 1)",
    ["Saturate", ["Attribute", "clicks"], { midpoint: 100 }],
  ),
  tuple(
    [
      { name: "op", schema: ops("Dist") },
      { name: "operand", schema: ref("TextRanking") },
      { name: "origin", schema: { oneOf: [num, { type: "string", description: "an ISO 8601 date-time: the operand is an attribute of date-time strings, measured in ms" }] } },
    ],
    "|operand - origin|",
    ["Dist", ["Attribute", "published_at"], "2026-02-03T12:00:00Z"],
  ),
  tuple(
    [{ name: "field", schema: ops("sparse") }, { name: "op", schema: ops("Dot") }, { name: "vector", schema: ref("SparseVector") }],
    "the document's sparse dot product (0 without a shared dimension; documents sharing one take part like documents a BM25 clause matches)",
    ["sparse", "Dot", { indices: [3, 17], values: [0.5, 1.2] }],
  ),
  ref("Filter"),
];

const SINGLE_RANKINGS: SchemaObject[] = [
  tuple(
    [
      { name: "field", schema: ops("vector") },
      { name: "op", schema: ops("kNN", "ANN") },
      { name: "vector", schema: { type: "array", items: num, minItems: 1 } },
    ],
    "dense vector: kNN exact, ANN approximate (IVF); rows carry distance, smaller is closer",
    ["vector", "kNN", [0.1, 0.2]],
  ),
  tuple([{ name: "field", schema: ops("sparse") }, { name: "op", schema: ops("Dot") }, { name: "vector", schema: ref("SparseVector") }], "sparse dot product; rows carry score", [
    "sparse",
    "Dot",
    { indices: [3, 17], values: [0.5, 1.2] },
  ]),
  ref("TextRanking"),
  orderKey,
  { type: "array", items: orderKey, minItems: 1, maxItems: 8, description: "several order keys, the first deciding first", example: [["color", "asc"], ["price", "desc"]] },
];

/** A filter (validated by the query module's parser, not by this schema). */
export const FilterSchema = z
  .array(z.unknown())
  .openapi("Filter", { description: "A filter tuple (docs/query.md, Filters)", oneOf: FILTER_VARIANTS, example: ["category", "Eq", "books"] } as never);

/** A BM25 clause or a combination of them (the rankBy of several text fields). */
export const TextRankingSchema = z
  .array(z.unknown())
  .openapi("TextRanking", { description: "A ranking expression: BM25 clauses, attributes, filters (1 when matching, else 0) and numbers, combined", oneOf: TEXT_VARIANTS } as never);

/** A ranking (validated by the query module's parser, not by this schema). */
export const RankBySchema = z.array(z.unknown()).openapi("RankBy", {
  description: "How rows are ranked (docs/query.md, Scoring)",
  oneOf: [
    ...SINGLE_RANKINGS,
    tuple(
      [
        { name: "op", schema: ops("RRF") },
        { name: "rankings", schema: { type: "array", minItems: 1, items: { oneOf: SINGLE_RANKINGS } } },
        {
          name: "options",
          optional: true,
          schema: {
            type: "object",
            additionalProperties: false,
            properties: { k: { type: "number", minimum: 0 }, window: { type: "integer", minimum: 1 }, weights: { type: "array", items: { type: "number", exclusiveMinimum: true, minimum: 0 } } },
          },
        },
      ],
      "reciprocal-rank fusion: score = sum of weight / (k + rank); does not nest",
      ["RRF", [["vector", "kNN", [0.1, 0.2]], ["body", "BM25", "fox"]], { k: 60 }],
    ),
  ],
  example: ["vector", "kNN", [0.1, 0.2]],
} as never);
