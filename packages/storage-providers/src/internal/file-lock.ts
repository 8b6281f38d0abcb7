/**
 * Per-key mutual exclusion for LocalFsStorage, across the processes of one
 * machine.
 *
 * A lock is a file created with O_EXCL (`wx`) holding the owner's pid,
 * hostname, a random token and the time it was taken. Contention inside one
 * process is settled first by an in-memory queue per key, so only one call
 * per process touches the lock file at a time.
 *
 * Stale locks: a holder that crashed leaves its file behind. A lock is stale
 * when its owner's pid is dead on this host, or when it is older than
 * `staleMs` (the critical sections it guards last milliseconds, and a pid can
 * be reused after a reboot). Breaking is serialized by a second "break" lock
 * taken the same way, and the breaker re-reads the lock under it and removes
 * it only if it still holds the very token judged stale, so two breakers
 * cannot remove a fresh lock. A release likewise removes the file only if it
 * still holds the releaser's token.
 *
 * Failure semantics: waiting longer than `timeoutMs` raises UnavailableError
 * (retryable); an abort raises AbortedError.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { UnavailableError } from "../errors.ts";
import { abortableSleep, throwIfAborted } from "./abort.ts";

export interface FileLockOptions {
  /** A lock older than this is stale even if its pid looks alive. */
  staleMs: number;
  /** How long to wait for a lock before failing with Unavailable. */
  timeoutMs: number;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
  takenAt: number;
}

const HOST = hostname();

function parseLock(text: string): LockContent | null {
  const [pid, host, token, takenAt] = text.split("\n");
  const pidValue = Number(pid);
  const takenAtValue = Number(takenAt);
  if (!Number.isInteger(pidValue) || host === undefined || !token || !Number.isFinite(takenAtValue)) return null;
  return { pid: pidValue, host, token, takenAt: takenAtValue };
}

function pidIsDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Tries once to create the lock file; returns its token, or null if held. */
async function tryCreate(path: string): Promise<string | null> {
  const token = randomBytes(12).toString("hex");
  let handle;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return null;
    throw error;
  }
  try {
    await handle.writeFile(`${process.pid}\n${HOST}\n${token}\n${Date.now()}\n`);
  } finally {
    await handle.close();
  }
  return token;
}

async function readLock(path: string): Promise<LockContent | "absent" | "unreadable"> {
  try {
    const content = parseLock(await readFile(path, "utf8"));
    return content ?? "unreadable";
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return "absent";
    throw error;
  }
}

async function removeIfToken(path: string, token: string): Promise<void> {
  const current = await readLock(path);
  if (typeof current === "object" && current.token === token) {
    await unlink(path).catch((error: unknown) => {
      if (errnoOf(error) !== "ENOENT") throw error;
    });
  }
}

export class FileLocks {
  readonly #options: FileLockOptions;
  /** In-process queue per lock path: the tail of its promise chain. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(options: FileLockOptions) {
    this.#options = options;
  }

  /** Runs `fn` while holding the lock at `path`. */
  async withLock<T>(path: string, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(path) ?? Promise.resolve();
    let releaseQueue!: () => void;
    const mine = new Promise<void>((resolve) => (releaseQueue = resolve));
    const tail = previous.then(() => mine);
    this.#queues.set(path, tail);
    try {
      await previous;
      const token = await this.#acquire(path, key, signal);
      try {
        return await fn();
      } finally {
        await removeIfToken(path, token);
      }
    } finally {
      releaseQueue();
      if (this.#queues.get(path) === tail) this.#queues.delete(path);
    }
  }

  async #acquire(path: string, key: string, signal: AbortSignal | undefined): Promise<string> {
    const deadline = Date.now() + this.#options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal, key);
      const token = await tryCreate(path);
      if (token !== null) return token;
      const holder = await readLock(path);
      if (typeof holder === "object" && this.#isStale(holder)) {
        await this.#breakStale(path, holder.token);
        continue;
      }
      if (Date.now() > deadline) {
        throw new UnavailableError(
          `key ${JSON.stringify(key)} stayed locked for ${this.#options.timeoutMs} ms (lock file ${path})`,
          { key },
        );
      }
      // Back off with jitter: 0.1 ms doubling to ~10 ms.
      const ms = Math.min(10, 0.1 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
      await abortableSleep(ms, signal, key);
    }
  }

  #isStale(holder: LockContent): boolean {
    if (Date.now() - holder.takenAt > this.#options.staleMs) return true;
    return holder.host === HOST && holder.pid !== process.pid && pidIsDead(holder.pid);
  }

  async #breakStale(path: string, staleToken: string): Promise<void> {
    const breakPath = `${path}.break`;
    const breakToken = await tryCreate(breakPath);
    if (breakToken === null) {
      const breaker = await readLock(breakPath);
      if (typeof breaker === "object" && this.#isStale(breaker)) {
        await removeIfToken(breakPath, breaker.token);
      }
      return;
    }
    try {
      await removeIfToken(path, staleToken);
    } finally {
      await removeIfToken(breakPath, breakToken);
    }
  }
}
