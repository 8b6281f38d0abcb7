/**
 * `skerry`: the operator CLI, working on the store directly (local-fs or
 * S3, the same objects the server uses; safe beside a running server).
 *
 *   skerry ns create|list|get|delete   namespaces
 *   skerry ns branch|copy <src> <dst>  copy-on-write branch / full copy (--at-version)
 *   skerry ns pin|unpin|warm <path>    keep a namespace's state in memory
 *   skerry versions <path>             stored manifest versions
 *   skerry manifest <path>             one manifest, pretty-printed (bytes shown as size and hash)
 *   skerry write <path> --file x.ndjson  import with a progress bar
 *   skerry get <path> <id...>          documents by id
 *   skerry scan <path>                 a page in id order
 *   skerry query <path> '<json>'       the query API
 *   skerry wal list|show|sidecars|gc   WAL state documents, sidecars, WAL GC
 *   skerry recover|compact <path>      maintenance, with reports
 *   skerry gc <path>                   manifest retention GC (--keep-versions, --keep-for-ms)
 *   skerry repair <org/project>        exact reference counts; --sweep unreferenced objects
 *   skerry stats [path...]             engine stats (or a running server's, --server)
 *   skerry delete-by-filter <path> '<filter>'
 *
 * Every command takes `--json` (machine output on stdout) and the storage
 * flags (`--data-dir`, `--s3-*`). Errors print the reason and the fix, and
 * exit 1; usage errors exit 2.
 *
 * `runCli(argv, io)` is the whole CLI as a function: one call parses one
 * command line, runs it on its own engine (closed afterwards), writes to
 * `io.stdout` / `io.stderr`, reads `io.env`, and returns the exit status.
 * main.ts (what bin/skerry.mjs runs) is `runCli` over the process; tests
 * call it in-process.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isSkerryError, SkerryClient } from "@skerry/client";
import { isNamespaceEngineError, NamespaceEngine, type StoredDocument } from "@skerry/namespace-engine";
import type { Manifest } from "@skerry/wal-format";
import { SingleBar } from "cli-progress";
import { Command, CommanderError, Option } from "commander";
import { userCwd } from "../config.ts";
import { engineStatsJson } from "../server/engine-stats.ts";
import type { OpenedStorage } from "../storage/open-storage.ts";
import { CliError, openCliStorage, type StorageFlags } from "./cli-storage.ts";
import { type ImportOp, importNdjson } from "./ndjson-import.ts";
import { bytes, table, time, toJson } from "./printable.ts";
import { listSidecars, listWal, showWal } from "./wal-inspect.ts";

interface GlobalFlags extends StorageFlags {
  json?: boolean;
}

/** Where a run writes: `process.stdout` / `process.stderr`, or anything with `write` (a test's buffer). */
export interface CliOutput {
  write(text: string): unknown;
  /** A terminal: progress bars are drawn (on stderr) only then. */
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** SKERRY_CLI_NAME, SKERRY_DATA_DIR, SKERRY_ADMIN_KEY, S3_*, AWS_*, INIT_CWD. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

function int(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

function nonNegative(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

function describeDoc(d: StoredDocument): string {
  const parts = [d.id];
  if (d.vector) parts.push(`vector[${d.vector.length}]`);
  if (d.text) parts.push(`text ${toJson(d.text)}`);
  if (d.attributes) parts.push(`attributes ${toJson(d.attributes)}`);
  return parts.join("  ");
}

function parseLabels(list: readonly string[] | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  const labels: [string, string][] = [];
  for (const l of list) {
    const at = l.indexOf("=");
    if (at < 1) throw new CliError(`label ${JSON.stringify(l)} is not key=value`);
    labels.push([l.slice(0, at), l.slice(at + 1)]);
  }
  // Object.fromEntries keeps a label named `__proto__` as data (an assignment would set the prototype).
  return Object.fromEntries(labels);
}

function counts(report: unknown): string {
  return Object.entries(JSON.parse(toJson(report)) as Record<string, unknown>)
    .map(([k, v]) => `  ${k.padEnd(22)} ${typeof v === "object" ? toJson(v) : String(v)}`)
    .join("\n");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Why a compaction did not run, from the manifest it examined: already compact, below the thresholds, or another compaction won. */
function notCompactedMessage(path: string, force: boolean, manifest: Manifest): string {
  const containers = manifest.containers;
  const only = containers[0];
  if (containers.length === 0) return `${path} has no containers at version ${manifest.version}: nothing to compact`;
  const masked = only?.extra?.["masked"];
  if (containers.length === 1 && only?.kind === "SEGMENT" && only.tombstonesKey === undefined && !(Array.isArray(masked) && masked.length > 0)) {
    return `${path} is already compact at version ${manifest.version} (one segment, ${only.rowCount} rows, no deletions): nothing to compact${force ? ", even with --force" : ""}`;
  }
  if (force) return `${path} was not compacted: another compaction of it ran at the same time (now at version ${manifest.version}); run it again to check`;
  const logBatches = containers.filter((c) => c.kind === "LOG_BATCH");
  const logBytes = logBatches.reduce((s, c) => s + c.byteSize, 0);
  return `${path} is below the compaction thresholds (${plural(logBatches.length, "log batch", "log batches")}, ${bytes(logBytes)}, ${containers.length} containers): not compacted; use --force to compact it anyway`;
}

const HINTS: Record<string, string> = {
  NamespaceNotFound: "list the namespaces with `skerry ns list <org>/<project>`",
  NamespaceExists: "pick another name, or delete it first with `skerry ns delete <path>`",
  VersionNotFound: "list the stored versions with `skerry versions <path>`",
  InvalidArgument: "namespace paths are org/project/namespace (letters, digits, '-', '_', '.')",
  Storage: "check --data-dir, or the S3 flags and credentials",
  InvalidQuery: "see the query syntax in the README or GET /openapi.json (QueryRequest)",
};

/** Runs one command line (`argv` without node and the script: `["ns", "list", "acme/search"]`); resolves to its exit status. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let exitCode = 0;

  const program = new Command(env["SKERRY_CLI_NAME"] ?? "skerry")
    .description("Skerry operator CLI: namespaces, documents, queries and WAL forensics on local-fs or S3")
    .option("--json", "print machine-readable JSON")
    .option("--data-dir <dir>", "local-fs data directory (default $SKERRY_DATA_DIR or ./.skerry-data)")
    .option("--s3-bucket <bucket>", "use S3 (or $S3_BUCKET)")
    .option("--s3-endpoint <url>", "S3 endpoint URL (or $S3_ENDPOINT)")
    .option("--s3-prefix <prefix>", "key prefix inside the bucket (or $S3_PREFIX)")
    .option("--s3-region <region>", "region (or $AWS_REGION)")
    // Before any subcommand exists: subcommands copy these settings when created.
    .configureOutput({ writeOut: (text) => void stdout.write(text), writeErr: (text) => void stderr.write(text) })
    .showHelpAfterError()
    .exitOverride();

  let opened: OpenedStorage | undefined;
  let engine: NamespaceEngine | undefined;

  function flags(): GlobalFlags {
    return program.opts<GlobalFlags>();
  }

  function storage(create = false): OpenedStorage {
    opened ??= openCliStorage(flags(), { create }, env);
    return opened;
  }

  function open(create = false): NamespaceEngine {
    engine ??= new NamespaceEngine({ storage: storage(create).storage });
    return engine;
  }

  function out(json: unknown, human: () => string): void {
    stdout.write(`${flags().json ? toJson(json) : human()}\n`);
  }

  /** A progress bar on stderr when it is a terminal (never with --json or a pipe). */
  function bar(format: string): SingleBar | undefined {
    return !flags().json && stderr.isTTY === true ? new SingleBar({ format, stream: stderr as NodeJS.WritableStream, hideCursor: true }) : undefined;
  }

  /** Runs a long operation with an elapsed-time bar on a terminal. */
  async function withProgress<T>(label: string, run: () => Promise<T>): Promise<T> {
    const b = bar(`${label} {bar} {duration}s`);
    b?.start(1, 0);
    const ticker = b === undefined ? undefined : setInterval(() => b.updateETA(), 200);
    try {
      const result = await run();
      b?.update(1);
      return result;
    } finally {
      if (ticker !== undefined) clearInterval(ticker);
      b?.stop();
    }
  }

  async function readAdminKeyFile(): Promise<string | undefined> {
    const dir = resolve(userCwd(env), flags().dataDir ?? (env["SKERRY_DATA_DIR"] || ".skerry-data"));
    const text = await readFile(join(dir, "admin-key.txt"), "utf8").catch(() => undefined);
    return text?.trim() || undefined;
  }

  function fail(message: string, hint: string | undefined, code: string | undefined): void {
    if (flags().json) stdout.write(`${toJson({ error: { code: code ?? "Error", message, hint } })}\n`);
    else stderr.write(`error: ${message}${hint === undefined ? "" : `\n  fix: ${hint}`}\n`);
    exitCode = 1;
  }

  // ------------------------------------------------------------- namespaces

  const ns = program.command("ns").description("create, list, inspect and delete namespaces");

  ns.command("create <path>")
    .description("create a namespace (path: org/project/namespace)")
    .addOption(new Option("--metric <metric>", "distance metric").choices(["cosine", "dot", "euclidean"]).default("cosine"))
    .option("--label <key=value...>", "labels")
    .action(async (path: string, o: { metric: "cosine" | "dot" | "euclidean"; label?: string[] }) => {
      const labels = parseLabels(o.label) ?? {};
      const info = await open(true).createNamespace(path, { distanceMetric: o.metric, labels });
      out(info, () => `created ${info.path} at version ${info.version} (${info.distanceMetric})`);
    });

  ns.command("list <org/project>")
    .description("list the live namespaces of a project")
    .action(async (scope: string) => {
      const [org, project, ...rest] = scope.split("/");
      if (org === undefined || project === undefined || rest.length > 0) throw new CliError(`expected org/project, got ${JSON.stringify(scope)}`, "e.g. skerry ns list demo/sample");
      const names = await open().listNamespaces(org, project);
      out({ namespaces: names }, () => (names.length === 0 ? `no namespaces in ${scope}` : names.join("\n")));
    });

  ns.command("get <path>")
    .description("namespace info: version, documents, containers, bytes, labels")
    .option("--at-version <n>", "as of this manifest version", int("--at-version"))
    .action(async (path: string, o: { atVersion?: number }) => {
      const info = await open().getNamespace(path, { atVersion: o.atVersion });
      out(info, () =>
        [
          `${info.path}`,
          `  version      ${info.version}`,
          `  documents    ${info.docCount}`,
          `  containers   ${info.logBatches} log batches, ${info.segments} segments, ${bytes(info.bytes)}`,
          `  vectors      ${info.vectorDimension ?? "-"} dims, ${info.distanceMetric}`,
          `  labels       ${toJson(info.labels)}`,
          `  pinned       ${info.pinned ? "yes" : "no"}`,
          ...(info.parent === undefined ? [] : [`  parent       ${info.parent.namespace} at version ${info.parent.version}`]),
          `  created      ${time(info.createdAt)}`,
          `  updated      ${time(info.updatedAt)}`,
        ].join("\n"),
      );
    });

  ns.command("delete <path>")
    .description("delete a namespace and its objects")
    .action(async (path: string) => {
      const result = await open().deleteNamespace(path);
      out(result, () => `deleted ${path} (final version ${result.version}, ${result.objectsDeleted} objects removed${result.alreadyDeleted ? ", was already deleted" : ""})`);
    });

  for (const mode of ["branch", "copy"] as const) {
    ns.command(`${mode} <source> <target>`)
      .description(
        mode === "branch"
          ? "copy-on-write branch in the same project (objects shared, reference counted), from the latest or --at-version"
          : "full copy (every object copied; the target may be in another project), from the latest or --at-version",
      )
      .option("--at-version <n>", "source version", int("--at-version"))
      .option("--label <key=value...>", "labels of the new namespace (default the source's)")
      .action(async (source: string, target: string, o: { atVersion?: number; label?: string[] }) => {
        const e = open();
        const labels = parseLabels(o.label);
        const options = { ...(o.atVersion === undefined ? {} : { atVersion: o.atVersion }), ...(labels === undefined ? {} : { labels }) };
        const info = await withProgress(mode === "branch" ? "branching" : "copying", () =>
          mode === "branch" ? e.branchNamespace(source, target, options) : e.copyNamespace(source, target, options),
        );
        const from = info.parent !== undefined ? `${info.parent.namespace} at version ${info.parent.version}` : o.atVersion !== undefined ? `${source} at version ${o.atVersion}` : source;
        out(info, () => `${mode === "branch" ? "branched" : "copied"} ${from} to ${info.path} (${info.docCount} documents, ${bytes(info.bytes)})`);
      });
  }

  ns.command("pin <path>")
    .description("pin a namespace: every server keeps its state in memory (never evicted) and warms it on start")
    .action(async (path: string) => {
      const warmed = await withProgress("pinning", () => open().pin(path));
      out({ ...warmed, pinned: true }, () => `pinned ${warmed.path} (version ${warmed.version}, ${warmed.docCount} documents, ~${bytes(warmed.bytes)} in memory)`);
    });

  ns.command("unpin <path>")
    .description("unpin a namespace (its state becomes evictable)")
    .action(async (path: string) => {
      const e = open();
      const wasPinned = (await e.pinnedNamespaces()).includes(path);
      if (!wasPinned) await e.manifest(path); // NamespaceNotFound for an unknown path
      await e.unpin(path);
      out({ path, pinned: false, wasPinned }, () => (wasPinned ? `unpinned ${path}` : `${path} was not pinned`));
    });

  ns.command("warm <path>")
    .description("load a namespace's materialized state (times the cold build; a server warms its own memory with POST .../warm)")
    .action(async (path: string) => {
      const started = Date.now();
      const warmed = await withProgress("warming", () => open().warm(path));
      const ms = Date.now() - started;
      out({ ...warmed, ms }, () => `warmed ${warmed.path} at version ${warmed.version}: ${warmed.docCount} documents, ~${bytes(warmed.bytes)}, ${ms} ms`);
    });

  // --------------------------------------------------------------- versions

  program
    .command("versions <path>")
    .description("manifest versions stored for a namespace, with their containers")
    .action(async (path: string) => {
      const e = open();
      const versions = await e.listVersions(path);
      const rows: { version: number; updatedAt: number | undefined; containers: number | undefined; bytes: number | undefined; deleted: boolean }[] = [];
      for (const v of versions) {
        try {
          const m = await e.manifest(path, { atVersion: v });
          rows.push({ version: v, updatedAt: m.updatedAt, containers: m.containers.length, bytes: m.containers.reduce((s, c) => s + c.byteSize, 0), deleted: false });
        } catch (error) {
          if (!isNamespaceEngineError(error)) throw error;
          rows.push({ version: v, updatedAt: undefined, containers: undefined, bytes: undefined, deleted: true });
        }
      }
      out({ versions: rows }, () =>
        table(
          rows.map((r) => [r.version, r.updatedAt === undefined ? "" : time(r.updatedAt), r.containers ?? "", r.bytes === undefined ? "" : bytes(r.bytes), r.deleted ? "deleted" : ""]),
          ["version", "updated", "containers", "bytes", ""],
        ),
      );
    });

  program
    .command("manifest <path>")
    .description("print a manifest (latest or --at-version)")
    .option("--at-version <n>", "manifest version", int("--at-version"))
    .action(async (path: string, o: { atVersion?: number }) => {
      const m = await open().manifest(path, { atVersion: o.atVersion });
      stdout.write(`${toJson(m, flags().json ? undefined : 2)}\n`);
    });

  // -------------------------------------------------------------- documents

  program
    .command("write <path>")
    .description("write documents from an NDJSON file (one JSON document per line)")
    .requiredOption("--file <file>", "NDJSON file")
    .addOption(new Option("--op <op>", "operation").choices(["upsert", "patch", "delete"]).default("upsert"))
    .option("--batch <n>", "documents per write", int("--batch"), 1_000)
    .action(async (path: string, o: { file: string; op: ImportOp; batch: number }) => {
      const e = open();
      await e.manifest(path); // fail fast (NamespaceNotFound) before reading the file
      const progress = bar("{bar} {percentage}% | {docs} documents | {eta_formatted} left");
      progress?.start(1, 0, { docs: 0 });
      try {
        const result = await importNdjson(e, path, o.file, {
          op: o.op,
          batch: o.batch,
          onProgress: (read, total, docs) => {
            if (progress !== undefined) {
              progress.setTotal(Math.max(total, 1));
              progress.update(read, { docs });
            }
          },
        });
        progress?.stop();
        out(result, () =>
          `${o.op}: ${result.documents} documents in ${result.batches} batches (${result.deduplicatedBatches} already applied) in ${result.ms} ms; namespace now at version ${result.lastVersion ?? "-"}`,
        );
      } finally {
        progress?.stop();
      }
    });

  program
    .command("get <path> <ids...>")
    .description("documents by id")
    .option("--at-version <n>", "as of this manifest version", int("--at-version"))
    .action(async (path: string, ids: string[], o: { atVersion?: number }) => {
      const docs = await open().get(path, ids, { atVersion: o.atVersion });
      out({ documents: docs }, () => docs.map((d, i) => (d === null ? `${ids[i]}  (not found)` : describeDoc(d))).join("\n"));
      if (docs.some((d) => d === null) && !flags().json) exitCode = 3;
    });

  program
    .command("scan <path>")
    .description("a page of documents in id order")
    .option("--after <id>", "start after this id")
    .option("--limit <n>", "page size", int("--limit"), 20)
    .option("--at-version <n>", "as of this manifest version", int("--at-version"))
    .action(async (path: string, o: { after?: string; limit: number; atVersion?: number }) => {
      const page = await open().scan(path, { after: o.after, limit: o.limit, atVersion: o.atVersion });
      out(page, () => [...page.documents.map(describeDoc), page.next === undefined ? "(end)" : `(more: --after ${page.next})`].join("\n"));
    });

  program
    .command("query <path> [request]")
    .description('run a query, e.g. \'{"rankBy":["body","BM25","guitar"],"topK":5}\'')
    .option("--file <file>", "read the request from a JSON file")
    .action(async (path: string, request: string | undefined, o: { file?: string }) => {
      const text = o.file !== undefined ? await readFile(o.file, "utf8") : request;
      if (text === undefined) throw new CliError("no query request", 'pass it as an argument (\'{"topK":10}\') or with --file');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new CliError(`the query request is not valid JSON: ${(error as Error).message}`);
      }
      const result = await open().query(path, body);
      out(result, () =>
        table(
          result.rows.map((r) => [r.id, r.distance ?? r.score ?? "", r.attributes === undefined ? "" : toJson(r.attributes)]),
          ["id", "distance/score", "attributes"],
        ) + `\n(${result.rows.length} rows at version ${result.version})`,
      );
    });

  // ------------------------------------------------------------ maintenance


  program
    .command("recover <path>")
    .description("run the recovery sweep (compactions, interrupted predicate mutations) and print its report")
    .action(async (path: string) => {
      const report = await open().recover(path);
      out(report, () => `recovery of ${path}\n${counts(report)}`);
    });

  program
    .command("compact <path>")
    .description("compact a namespace when due: fold its tail into a segment, or merge similar-sized segments (--force: fold everything)")
    .option("--force", "compact even below the thresholds")
    .action(async (path: string, o: { force?: boolean }) => {
      const e = open();
      const force = o.force === true;
      const report = await withProgress("compacting", () => e.compact(path, { force }));
      if (report.performed) {
        const into = (report.outputSegments ?? 1) === 1 ? "one segment" : `${report.outputSegments} segments`;
        const kind = report.runKind === "tail" ? " (tail fold)" : report.runKind === "merge" ? " (merge of segments)" : "";
        const message = `compacted ${path}: ${plural(report.inputContainers, "container")} into ${into} of ${report.liveDocuments} documents, now at version ${report.version}${kind}`;
        out({ ...report, message }, () => `${message}\n${counts(report)}`);
      } else {
        const message = notCompactedMessage(path, force, await e.manifest(path, { atVersion: report.version }));
        out({ ...report, message }, () => message);
      }
    });

  program
    .command("gc <path>")
    .description("manifest retention GC: delete versions beyond the newest --keep-versions (16) older than --keep-for-ms (1 h), and objects only they referenced")
    .option("--keep-versions <n>", "newest versions always kept", int("--keep-versions"))
    .option("--keep-for-ms <ms>", "keep versions superseded less than this long ago", nonNegative("--keep-for-ms"))
    .action(async (path: string, o: { keepVersions?: number; keepForMs?: number }) => {
      const e = open();
      await e.manifest(path); // NamespaceNotFound for an unknown path
      const retention = { ...(o.keepVersions === undefined ? {} : { keepVersions: o.keepVersions }), ...(o.keepForMs === undefined ? {} : { keepForMs: o.keepForMs }) };
      const report = await withProgress("collecting", () => e.collectGarbage(path, { retention }));
      out(report, () => `GC of ${path}: ${report.versionsDeleted} versions and ${report.objectsDeleted} objects deleted; versions ${report.oldestVersion}..${report.latestVersion} readable`);
    });

  program
    .command("repair <org/project>")
    .description("rebuild a project's reference counts from its manifests, finish interrupted deletions; --sweep deletes unreferenced objects older than --grace-ms (one day)")
    .option("--sweep", "delete unreferenced objects older than the grace period")
    .option("--grace-ms <ms>", "minimum age of what repair removes", nonNegative("--grace-ms"))
    .action(async (scope: string, o: { sweep?: boolean; graceMs?: number }) => {
      const [org, project, ...rest] = scope.split("/");
      if (org === undefined || project === undefined || rest.length > 0) throw new CliError(`expected org/project, got ${JSON.stringify(scope)}`, "e.g. skerry repair demo/sample --sweep");
      const report = await withProgress("repairing", () => open().repair(org, project, { sweep: o.sweep === true, ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }) }));
      out(report, () => `repair of ${scope}${o.sweep ? " (with sweep)" : ""}\n${counts(report)}`);
    });

  program
    .command("stats [paths...]")
    .description("engine stats (state cache, query caches, persistence) of a running server (--server), or of this process after warming the given namespaces")
    .option("--server <url>", "a running server, e.g. http://127.0.0.1:7700 (admin key from --key, $SKERRY_ADMIN_KEY or <data dir>/admin-key.txt)")
    .option("--key <key>", "admin key for --server")
    .action(async (paths: string[], o: { server?: string; key?: string }) => {
      let stats: Record<string, unknown>;
      if (o.server !== undefined) {
        const key = o.key ?? (env["SKERRY_ADMIN_KEY"] || (await readAdminKeyFile()));
        if (key === undefined) throw new CliError("no admin key for --server", "pass --key, set SKERRY_ADMIN_KEY, or run where <data dir>/admin-key.txt exists");
        stats = await serverStats(o.server, key);
      } else {
        const e = open();
        for (const path of paths) await withProgress(`warming ${path}`, () => e.warm(path));
        stats = engineStatsJson(e, await e.pinnedNamespaces());
      }
      out(stats, () =>
        Object.entries(stats)
          .map(([section, value]) => (Array.isArray(value) ? `${section.padEnd(16)} ${value.length === 0 ? "(none)" : value.join(", ")}` : `${section}\n${counts(value)}`))
          .join("\n"),
      );
    });


  program
    .command("delete-by-filter <path> <filter>")
    .description('delete every document matching a filter tuple, e.g. \'["n","Lt",5]\'')
    .action(async (path: string, filter: string) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(filter);
      } catch {
        throw new CliError(`the filter is not valid JSON: ${filter}`, 'e.g. \'["category","Eq","toys"]\'');
      }
      const result = await open().deleteByFilter(path, parsed as unknown[]);
      out(result, () => `deleted ${result.deleted} of ${result.matched} matching documents (${result.skipped} skipped: newer writes won); version ${result.version}`);
    });

  // -------------------------------------------------------------------- WAL

  const wal = program.command("wal").description("inspect WAL state documents and sidecars of a namespace");

  wal
    .command("list <path>")
    .description("mutation state documents, oldest first")
    .action(async (path: string) => {
      const entries = await listWal(storage().storage, path);
      out({ entries }, () =>
        entries.length === 0
          ? `no WAL state documents under ${path} (predicate mutations write them)`
          : table(
              entries.map((e) => [e.walId, e.opKind, e.state, e.createdAt === undefined ? "" : time(e.createdAt), e.targets, e.tombstoneProgress, e.leaseOwner === undefined ? "" : `${e.leaseOwner.slice(0, 8)}… until ${time(e.leaseExpiresAt ?? 0)}`, e.hasArrowSidecar ? "yes" : "", e.error ?? ""]),
              ["wal id", "op", "state", "created", "targets", "tombstoned", "lease", "arrow", "error"],
            ),
      );
    });

  wal
    .command("show <path> <walId>")
    .description("pretty-print one state document as stored, with the decoder's verdict")
    .action(async (path: string, walId: string) => {
      const shown = await showWal(storage().storage, path, walId);
      out(shown, () => `${shown.key}  ${shown.valid ? "(valid)" : `(INVALID: ${shown.error})`}\n${toJson(shown.document, 2)}`);
      if (!shown.valid) exitCode = 3;
    });

  wal
    .command("gc <path>")
    .description("garbage-collect finished WAL documents and settled compaction intents older than --grace-ms (default one day)")
    .option("--grace-ms <ms>", "minimum age", nonNegative("--grace-ms"))
    .action(async (path: string, o: { graceMs?: number }) => {
      const report = await open().collectWalGarbage(path, o.graceMs === undefined ? {} : { graceMs: o.graceMs });
      out(report, () => `WAL GC of ${path}\n${counts(report)}`);
    });

  wal
    .command("sidecars <path>")
    .description("tombstone sidecars (deletion vectors) with their position counts")
    .action(async (path: string) => {
      const entries = await listSidecars(storage().storage, path);
      out({ sidecars: entries }, () =>
        entries.length === 0
          ? `no tombstone sidecars under ${path}`
          : table(entries.map((e) => [e.key, bytes(e.size), e.positions ?? "", e.sealed ? "sealed" : "", e.error ?? ""]), ["key", "size", "positions", "seal", "error"]),
      );
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof CliError) {
      fail(error.message, error.hint, "CliError");
    } else {
      const code = (error as { code?: unknown }).code;
      const codeName = typeof code === "string" ? code : undefined;
      fail((error as Error).message ?? String(error), codeName === undefined ? undefined : HINTS[codeName], codeName);
    }
  } finally {
    await engine?.close();
    opened?.close();
  }
  return exitCode;
}

/** A running server's engine stats, through @skerry/client (retries a busy or briefly unreachable server twice). */
async function serverStats(server: string, key: string): Promise<Record<string, unknown>> {
  let client: SkerryClient;
  try {
    client = new SkerryClient({ baseUrl: server, apiKey: key, retry: { maxRetries: 2 }, timeoutMs: 30_000 });
  } catch (error) {
    throw new CliError(`--server must be an http(s) URL: ${(error as Error).message}`, "e.g. --server http://127.0.0.1:7700");
  }
  try {
    return { ...(await client.stats()) };
  } catch (error) {
    if (isSkerryError(error, "NetworkError", "RequestTimeout")) throw new CliError(`cannot reach ${server}: ${error.message}`, "start the server with `pnpm demo`, or check --server");
    if (isSkerryError(error)) throw new CliError(`${server} answered ${error.status ?? "nothing"}: ${error.message}`, error.code === "Forbidden" ? "stats need an admin key" : undefined);
    throw error;
  }
}
