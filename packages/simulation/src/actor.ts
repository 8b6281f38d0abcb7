/**
 * Actor: one simulated client with at most one operation in flight, bound
 * to a simulated process (several actors may share one, so their writes
 * group-commit). `track` runs one engine call against the model: it logs
 * the call and its outcome to the trace, records the status the auditor
 * needs (acknowledged at a version, definite failure, unknown outcome), and
 * reports an unexpected error as a violation.
 */
import type { OwnedDocs, ModelOp, OpStatus } from "./owned-docs.ts";
import { classify, errorText } from "./observation.ts";
import type { SimRandom } from "./sim-random.ts";
import type { SimWorld } from "./sim-world.ts";

export abstract class Actor {
  readonly name: string;
  readonly processName: string;
  readonly random: SimRandom;
  busy = false;
  #ops = 0;

  constructor(name: string, processName: string, random: SimRandom) {
    this.name = name;
    this.processName = processName;
    this.random = random;
  }

  /** Relative chance of being picked for a step. */
  abstract readonly weight: number;

  /** Runs one operation. */
  abstract run(world: SimWorld): Promise<void>;

  nextOpId(): string {
    return `${this.name}.${++this.#ops}`;
  }
}

/** wal-engine's InvalidPreState for a WAL another handle already drove to COMPLETE (bug SIM-2). */
export function isCompleteByPeer(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "InvalidPreState" && /already COMPLETE/.test((error as Error).message ?? "");
}

export interface Tracked<T> {
  readonly status: OpStatus;
  readonly value?: T;
  readonly error?: unknown;
}

/**
 * Runs `call` as operation `what`, with `model` (if any) tracked in `docs`.
 * `versionOf` extracts the acknowledged manifest version.
 */
export async function track<T>(
  world: SimWorld,
  actor: Actor,
  what: string,
  path: string,
  call: () => Promise<T>,
  versionOf: (value: T) => number | undefined,
  model?: { docs: OwnedDocs; op: ModelOp; deduplicated?: (value: T) => boolean },
): Promise<Tracked<T>> {
  const proc = world.process(actor.processName);
  const tracked = model === undefined ? undefined : model.docs.begin(model.op);
  world.log(`${actor.name}@${proc.name}#${proc.incarnation} ${what}`);
  try {
    const value = await call();
    const version = versionOf(value);
    const dedup = model?.deduplicated?.(value);
    const status: OpStatus =
      version === undefined ? { kind: "acked", version: Number.MAX_SAFE_INTEGER } : dedup === undefined ? { kind: "acked", version } : { kind: "acked", version, deduplicated: dedup };
    if (tracked !== undefined) tracked.status = status;
    if (version !== undefined) world.noteAck(path, `${proc.name}#${proc.incarnation}`, version);
    world.log(`${actor.name} ${what} -> ok${version === undefined ? "" : ` v${version}`}${dedup === true ? " (deduplicated)" : ""}`);
    return { status, value };
  } catch (error) {
    let cls = classify(error);
    if (cls === "unexpected" && isCompleteByPeer(error) && world.faults.fences?.includes("wal-complete-by-peer") === true) {
      // Known bug SIM-2 (ci-seeds.ts): the mutation did complete (by a recovery that took over the lease).
      world.log(`${actor.name} ${what}: known bug SIM-2 (InvalidPreState for a WAL completed by a peer)`);
      cls = "unknown";
    }
    const status: OpStatus = cls === "definite" ? { kind: "failed" } : { kind: "unknown" };
    if (tracked !== undefined) tracked.status = status;
    world.log(`${actor.name} ${what} -> ${cls === "definite" ? "failed" : "unknown"} ${errorText(error).slice(0, 160)}`);
    if (cls === "unexpected") world.violate("no unexpected errors", `${actor.name} ${what}: ${errorText(error)}`);
    return { status, error };
  }
}
