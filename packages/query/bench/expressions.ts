/**
 * Fuzzy filters and ranking expressions on one loaded partition, each
 * beside its plain counterpart measured in the same run:
 *
 * - Fuzzy (one token, by length: 1 or 2 edits) beside ContainsAllTokens of
 *   the same token: the walk over the vocabulary against one lookup;
 * - a ranking expression (BM25 + Saturate(Attribute) + Decay(Dist) + a
 *   filter boost) beside the BM25 clause alone.
 *
 * Prints the vocabulary size and p50 per query kind.
 *
 *   node --conditions=@skerry/source --import tsx bench/expressions.ts
 *   BENCH_DOCS=200000 ... (default 100,000)
 */
import { seededRandom } from "@skerry/wal-format";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";

const DOCS = Number(process.env["BENCH_DOCS"] ?? 100_000);
const RUNS = 15;

const random = seededRandom(7);
const word = () => Array.from({ length: 5 + (random.nextUint32() % 7) }, () => String.fromCharCode(97 + (random.nextUint32() % 26))).join("");
const common = Array.from({ length: 200 }, word);
const docs: QueryDocument[] = Array.from({ length: DOCS }, (_, i) => ({
  id: `d${String(i).padStart(7, "0")}`,
  text: { body: `${word()} ${common[random.nextUint32() % common.length]} ${word()} ${common[random.nextUint32() % common.length]}` },
  attributes: { clicks: random.nextUint32() % 10_000, at: new Date(Date.UTC(2026, 0, 1) + (random.nextUint32() % 90) * 86_400_000).toISOString(), kind: `k${i % 7}` },
}));
const index = buildQueryIndex(docs, { metric: "COSINE" });

async function p50(request: (i: number) => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const parsed = parseQueryRequest(request(i));
    const t = performance.now();
    await executeQuery([index], parsed, { parallel: false });
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const typo = (w: string) => `${w.slice(0, 2)}${w.slice(3)}x`;
const line = (label: string, ms: number, base: number) => console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(8)} ms  (x${(ms / base).toFixed(1)})`);

console.log(`${DOCS} docs, vocabulary ${index.textFields.get("body")!.terms.length} terms, p50 of ${RUNS}`);
const exact = await p50((i) => ({ filters: ["body", "ContainsAllTokens", common[i]!], topK: 10 }));
line("ContainsAllTokens (one lookup)", exact, exact);
line("Fuzzy, one token (1-2 edits)", await p50((i) => ({ filters: ["body", "Fuzzy", typo(common[i]!)], topK: 10 })), exact);
line("Fuzzy, case-insensitive", await p50((i) => ({ filters: ["body", "Fuzzy", typo(common[i]!), { caseSensitive: false }], topK: 10 })), exact);
const bm25 = await p50((i) => ({ rankBy: ["body", "BM25", common[i]!], topK: 10 }));
line("BM25 clause", bm25, bm25);
line(
  "BM25 + Saturate + Decay(Dist) + filter boost",
  await p50((i) => ({
    rankBy: [
      "Sum",
      [
        ["body", "BM25", common[i]!],
        ["Product", 1.5, ["Saturate", ["Attribute", "clicks"], { midpoint: 1000 }]],
        ["Decay", ["Dist", ["Attribute", "at"], "2026-03-01T00:00:00Z"], { midpoint: "7d" }],
        ["kind", "Eq", "k3"],
      ],
    ],
    topK: 10,
  })),
  bm25,
);
line("Saturate(Attribute) alone (every document)", await p50(() => ({ rankBy: ["Saturate", ["Attribute", "clicks"], { midpoint: 1000 }], topK: 10 })), bm25);
