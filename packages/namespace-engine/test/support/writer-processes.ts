/**
 * Many writer processes on one namespace: forks `processes` children of
 * test/fixtures/writer.ts, starts them together and collects what each
 * acknowledged, the commits it lost to the budget (`Conflict`) and its
 * engine's stats. Used by test/multi-process.test.ts and
 * bench/multi-writer.ts.
 */
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "writer.ts");

export type Ack = { id: string; version: number };

export interface WriterRun {
  readonly acked: Ack[];
  /** One message per write that failed with `Conflict`. */
  readonly conflicts: string[];
  /** Manifest races each process lost. */
  readonly racesLost: number[];
  /** Commits of each process that put a waiting claim (waiting-claims.ts). */
  readonly waitingClaims: number[];
  /** Groups of each process that waited for another writer's waiting claim. */
  readonly yieldedToWaiting: number[];
  /** Wall time from "go" to the last writer's exit. */
  readonly seconds: number;
}

export interface WriterRunOptions {
  readonly location: string;
  readonly backend: "local-fs" | "s3";
  readonly processes: number;
  readonly writes: number;
  readonly concurrency: number;
  /** Batches per writer: carried by the manifest, or stored as objects; default all carried. */
  readonly batches?: (worker: number) => "carried" | "stored";
  /** Starts writer i `i * staggerMs` after the first (a process joining a busy namespace); default 0. */
  readonly staggerMs?: number;
}

interface WriterOutput {
  acked: Ack[];
  conflicts: string[];
  stats: { racesLost?: number; waitingClaims?: number; yieldedToWaiting?: number };
}

function spawnWriter(args: string[]) {
  const child = fork(WORKER, args, {
    execArgv: ["--conditions=@skerry/source", "--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const ready = new Promise<void>((resolve) => child.once("message", () => resolve()));
  const done = new Promise<WriterOutput>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(JSON.parse(out) as WriterOutput);
      else reject(new Error(`writer ${args.join(" ")} exited ${code ?? signal}: ${err}`));
    });
  });
  return { child, ready, done };
}

/** Runs the writers (the namespace must exist) and returns what they report. */
export async function runWriterProcesses(options: WriterRunOptions): Promise<WriterRun> {
  const { location, backend, processes, writes, concurrency } = options;
  const writers = Array.from({ length: processes }, (_, w) =>
    spawnWriter([location, backend, String(w), String(writes), String(concurrency), options.batches?.(w) ?? "carried"]),
  );
  await Promise.all(writers.map((w) => w.ready));
  const started = performance.now();
  const stagger = options.staggerMs ?? 0;
  writers.forEach((w, i) => {
    if (stagger > 0 && i > 0) setTimeout(() => w.child.send("go"), i * stagger);
    else w.child.send("go");
  });
  const outputs = await Promise.all(writers.map((w) => w.done));
  const seconds = (performance.now() - started) / 1000;
  return {
    acked: outputs.flatMap((o) => o.acked),
    conflicts: outputs.flatMap((o) => o.conflicts),
    racesLost: outputs.map((o) => o.stats.racesLost ?? 0),
    waitingClaims: outputs.map((o) => o.stats.waitingClaims ?? 0),
    yieldedToWaiting: outputs.map((o) => o.stats.yieldedToWaiting ?? 0),
    seconds,
  };
}
