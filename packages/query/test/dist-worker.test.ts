/**
 * The worker-thread path must work from the compiled JavaScript too (the
 * worker file is found by extension next to the module): compile the query
 * module with tsc into a scratch folder inside the package (so `zod`
 * resolves), then run a parallel query in a `node` child process. The
 * query module's one workspace dependency, `@skerry/wal-format` (the block
 * file codec of the stored index), is not built here: the child resolves it
 * to its TypeScript source (`--conditions=@skerry/source --import tsx`);
 * the query module itself and its worker run as compiled JavaScript.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(packageDir, "node_modules", ".cache", `skerry-query-dist-${process.pid}`);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("compiled query module", () => {
  it("runs parallel scans in worker threads from dist and matches the single-thread answer", () => {
    mkdirSync(outDir, { recursive: true });
    const tsconfig = join(outDir, "tsconfig.json");
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(packageDir, "../../tsconfig.base.json"),
        compilerOptions: {
          rootDir: join(packageDir, ".."),
          outDir,
          declaration: false,
          declarationMap: false,
          sourceMap: false,
          noEmit: false,
          customConditions: ["@skerry/source"],
        },
        include: [join(packageDir, "src/**/*.ts")],
      }),
    );
    const tsc = createRequire(join(packageDir, "package.json")).resolve("typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "-p", tsconfig], { stdio: "pipe" });
    const queryDir = join(outDir, "query/src");
    const script = `
      import { buildQueryIndex, configureQueryThreads, executeQuery, parseQueryRequest, warmUpQueryThreads } from ${JSON.stringify(pathToFileURL(join(queryDir, "index.js")).href)};
      import { workerTaskCount } from ${JSON.stringify(pathToFileURL(join(queryDir, "worker-pool.js")).href)};
      configureQueryThreads(2);
      const online = await warmUpQueryThreads();
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
      const docs = Array.from({ length: 40000 }, (_, i) => ({ id: "d" + i, vector: Array.from({ length: 128 }, rnd) }));
      const index = buildQueryIndex(docs, { metric: "EUCLIDEAN" });
      const request = parseQueryRequest({ rankBy: ["vector", "kNN", Array.from({ length: 128 }, rnd)], topK: 10 });
      const parallel = await executeQuery([index], request);
      const tasks = workerTaskCount();
      const single = await executeQuery([index], request, { parallel: false });
      console.log(JSON.stringify({ online, tasks, same: JSON.stringify(parallel) === JSON.stringify(single), rows: parallel.rows.length }));
    `;
    const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", "--input-type=module", "-e", script], { cwd: outDir, encoding: "utf8", timeout: 60_000 });
    expect(JSON.parse(out.trim())).toEqual({ online: true, tasks: 2, same: true, rows: 10 });
  });
});
