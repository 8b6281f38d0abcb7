/**
 * `pnpm demo` / `pnpm --filter @skerry/demo start`: the server with the
 * newcomer's defaults. Reads the configuration from the environment
 * (config.ts), opens local-fs storage in the data directory (or S3 when
 * S3_BUCKET is set), starts the API, creates the sample namespace on the
 * first run, and prints the URL, the admin key (first run) or where to
 * find it, and requests to copy. SIGINT/SIGTERM shut down gracefully.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../config.ts";
import { SAMPLE_DOCUMENTS, SAMPLE_NAMESPACE } from "../sample/sample-dataset.ts";
import { loadSampleDataset } from "../sample/load-sample.ts";
import { openStorage } from "../storage/open-storage.ts";
import { PortInUseError, startServer } from "./server.ts";

const ADMIN_KEY_FILE = "admin-key.txt";

async function main(): Promise<void> {
  const config = loadConfig();
  await mkdir(config.dataDir, { recursive: true });
  const opened = openStorage(config.dataDir);
  const server = await startServer({
    storage: opened.storage,
    host: config.host,
    port: config.port,
    portFallback: config.portFallback,
    adminKey: config.adminKey,
    limits: config.limits,
    logLevel: config.logLevel,
    stateDir: config.stateDir,
    blockCache: config.blockCache,
    turbopufferProject: config.turbopufferProject,
    onClose: () => opened.close(),
  });

  let shuttingDown = false;
  const stop = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${signal}: finishing in-flight requests, then stopping`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const keyFile = join(config.dataDir, ADMIN_KEY_FILE);
  if (server.generatedAdminKey !== undefined) {
    await writeFile(keyFile, `${server.generatedAdminKey}\n`, { mode: 0o600 });
    await chmod(keyFile, 0o600);
  }

  if (config.sample) {
    const started = Date.now();
    const outcome = await loadSampleDataset(server.engine, (done, total) => process.stdout.write(`\rloading the sample dataset: ${done}/${total} documents`));
    if (outcome === "created") console.log(` (${Date.now() - started} ms)`);
  }

  let keyLine: string;
  let keyExpr: string;
  if (server.generatedAdminKey !== undefined) {
    keyLine = `admin key:  ${server.generatedAdminKey}\n            (shown once; also saved to ${keyFile}, mode 0600)`;
    keyExpr = server.generatedAdminKey;
  } else if (config.adminKey !== undefined) {
    keyLine = "admin key:  from SKERRY_ADMIN_KEY";
    keyExpr = "$SKERRY_ADMIN_KEY";
  } else {
    const saved = await readFile(keyFile, "utf8").catch(() => undefined);
    keyLine = saved === undefined ? `admin key:  generated on the first run (its file ${keyFile} is gone; set SKERRY_ADMIN_KEY)` : `admin key:  in ${keyFile}`;
    keyExpr = `$(cat '${keyFile}')`;
  }
  const [org, project, ns] = SAMPLE_NAMESPACE.split("/");
  const base = `${server.url}/v1/orgs/${org}/projects/${project}/namespaces`;
  console.log(`
Skerry is running at ${server.url}   (storage: ${opened.description})
${keyLine}
console:    ${server.url}/console         (paste the admin key)
OpenAPI:    ${server.url}/openapi.json    metrics: ${server.url}/metrics    health: ${server.url}/health
sample:     ${SAMPLE_NAMESPACE} (${SAMPLE_DOCUMENTS} documents, 64-dim vectors, title/body text, attributes)

Try a full-text query with a filter:
  curl -s -H "Authorization: Bearer ${keyExpr}" -H 'Content-Type: application/json' \\
    ${base}/${ns}/query \\
    -d '{"rankBy":["body","BM25","vintage guitar"],"filters":["in_stock","Eq",true],"topK":3}'

Write a document:
  curl -s -H "Authorization: Bearer ${keyExpr}" -H 'Content-Type: application/json' \\
    ${base}/${ns}/upsert -d '{"documents":[{"id":"hello","text":{"body":"hello world"},"attributes":{"category":"books"}}]}'

Press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof PortInUseError) {
    console.error(`skerry: ${error.message}`);
  } else {
    console.error("skerry: the server failed to start:", error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
