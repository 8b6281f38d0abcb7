// One fresh process from the BUILT packages (dist, plain node, no tsx): open an engine on a local-fs
// directory and answer one ANN top-10 query. Prints the time from process start to the answer.
// Used by bench/process-start.ts:  node bench/first-answer.mjs <dir> <namespace> <query vector JSON>
import { NamespaceEngine } from "@skerry/namespace-engine";
import { LocalFsStorage } from "@skerry/storage-providers";

const [dir, namespace, vector] = process.argv.slice(2);
const engine = new NamespaceEngine({ storage: new LocalFsStorage({ root: dir }), compaction: { auto: false } });
const result = await engine.query(namespace, { rankBy: ["vector", "ANN", JSON.parse(vector)], topK: 10 });
const answered = performance.now(); // milliseconds since the process started
console.log(JSON.stringify({ answered, rows: result.rows.length, ids: result.rows.map((row) => row.id) }));
process.exit(0);
