/**
 * A fleet on loopback for tests and the benchmark, through the project's
 * own scripts (scripts/fleet/: start-fleet.sh, fleet-node.sh,
 * stop-fleet.sh): N servers on the configured S3 bucket (a unique prefix)
 * behind HAProxy. Also a keep-alive JSON client that never throws on a
 * connection error (status 0 instead), since nodes die on purpose here.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, "../../../..");
const SCRIPTS = join(REPO_ROOT, "scripts/fleet");

export interface Fleet {
  readonly dir: string;
  readonly url: string;
  /** Every balancer's URL (FLEET_BALANCERS), the first is `url`. */
  readonly urls: readonly string[];
  readonly nodeUrls: readonly string[];
  readonly adminKey: string;
  /** The S3 key prefix every node of this fleet uses. */
  readonly prefix: string;
  /** fleet-node.sh on node `i` (1-based). */
  node(action: "start" | "stop" | "kill", i: number): Promise<void>;
  /** fleet-balancer.sh on balancer `b` (1-based). */
  balancer(action: "start" | "stop" | "kill", b: number): Promise<void>;
  /** fleet-scale.sh add: the new node's number and URL. */
  addNode(): Promise<{ node: number; url: string }>;
  /** fleet-scale.sh remove `i`. */
  removeNode(i: number): Promise<void>;
  stop(): Promise<void>;
}

function parseExports(stdout: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m === null) continue;
    // start-fleet.sh quotes with printf %q: only backslash-escaped spaces can occur in these values.
    vars.set(m[1] as string, (m[2] as string).replace(/\\(.)/g, "$1"));
  }
  return vars;
}

/** Starts `nodes` servers + HAProxy with start-fleet.sh; throws with the script's stderr when it fails. */
export async function startFleet(nodes: number, env: Record<string, string> = {}): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), "skerry-fleet-"));
  const prefix = `skerry-tests/fleet-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const childEnv = { ...process.env, FLEET_NODES: String(nodes), S3_PREFIX: prefix, SKERRY_LOG_LEVEL: "warn", ...env };
  let stdout: string;
  try {
    ({ stdout } = await run(join(SCRIPTS, "start-fleet.sh"), [dir], { env: childEnv, maxBuffer: 1 << 20 }));
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`start-fleet.sh failed: ${e.message}\n${e.stderr ?? ""}`);
  }
  const vars = parseExports(stdout);
  const need = (name: string) => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`start-fleet.sh printed no ${name}: ${stdout}`);
    return value;
  };
  const script = async (args: string[]): Promise<string> => {
    try {
      return (await run(join(SCRIPTS, args[0] as string), args.slice(1), { env: childEnv })).stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${args.join(" ")} failed: ${e.message}\n${e.stderr ?? ""}`);
    }
  };
  return {
    dir,
    url: need("FLEET_URL"),
    urls: need("FLEET_URLS").split(" "),
    nodeUrls: need("FLEET_NODE_URLS").split(" "),
    adminKey: need("FLEET_ADMIN_KEY"),
    prefix: need("FLEET_S3_PREFIX"),
    node: async (action, i) => void (await script(["fleet-node.sh", dir, action, String(i)])),
    balancer: async (action, b) => void (await script(["fleet-balancer.sh", dir, action, String(b)])),
    addNode: async () => {
      const added = parseExports(await script(["fleet-scale.sh", dir, "add"]));
      return { node: Number(added.get("FLEET_NEW_NODE")), url: added.get("FLEET_NEW_NODE_URL") as string };
    },
    removeNode: async (i) => void (await script(["fleet-scale.sh", dir, "remove", String(i)])),
    stop: async () => void (await script(["stop-fleet.sh", dir])),
  };
}

export interface FleetAnswer {
  /** 0: no HTTP answer (connection refused or reset). */
  readonly status: number;
  /** The node that answered through the balancer (X-Skerry-Node), if any. */
  readonly node: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: answers are untyped JSON the callers index into
  readonly body: any;
}

/** One JSON request with the key as bearer token; a connection error is status 0, never a throw. */
export async function call(base: string, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<FleetAnswer> {
  const h: Record<string, string> = { authorization: `Bearer ${key}`, ...headers };
  if (body !== undefined) h["content-type"] = "application/json";
  try {
    const res = await fetch(`${base}${path}`, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {}
    return { status: res.status, node: res.headers.get("x-skerry-node") ?? undefined, body: parsed };
  } catch (error) {
    return { status: 0, node: undefined, body: String(error) };
  }
}

/** True when a fleet can be started here: haproxy is installed, or can be (root, apt-get). */
export async function haproxyAvailable(): Promise<boolean> {
  const ok = async (cmd: string, args: string[]) =>
    run(cmd, args).then(
      () => true,
      () => false,
    );
  if (await ok("haproxy", ["-v"])) return true;
  return process.getuid?.() === 0 && (await ok("apt-get", ["--version"]));
}

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
