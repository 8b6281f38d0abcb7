/**
 * Cold start, run in a fresh process by run.ts: read a serialized segment
 * index from a local file, deserialize it, build the small exact index of a
 * log tail, and answer the first query (worker threads start on demand).
 * Prints one JSON line of timings.
 */
import { readFileSync } from "node:fs";
import { buildQueryIndex, deserializeQueryIndex, executeQuery, parseQueryRequest } from "../src/index.ts";
import { dataset } from "./dataset.ts";

const [file, tailCount] = process.argv.slice(2);
const t0 = performance.now();
const bytes = readFileSync(file!);
const t1 = performance.now();
const segment = deserializeQueryIndex(bytes);
const t2 = performance.now();
const tail = buildQueryIndex(dataset(Number(tailCount), 99).documents(), { metric: "COSINE" });
const t3 = performance.now();
const request = parseQueryRequest({ rankBy: ["vector", "kNN", dataset(10).query(1)], topK: 10 });
await executeQuery([segment, tail], request);
const t4 = performance.now();
const ann = parseQueryRequest({ rankBy: ["vector", "ANN", dataset(10).query(2)], topK: 10 });
await executeQuery([segment, tail], ann);
const t5 = performance.now();
console.log(JSON.stringify({ bytes: bytes.length, read: t1 - t0, deserialize: t2 - t1, tail: t3 - t2, firstExact: t4 - t3, firstAnn: t5 - t4 }));
