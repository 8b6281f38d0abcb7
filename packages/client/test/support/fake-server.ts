/**
 * A scripted fake `fetch` for unit tests: each call is recorded (method,
 * URL, headers, parsed body) and answered by the next scripted answer, or
 * by a handler. Sleeps are recorded and return at once (still honouring
 * the abort signal).
 */
import { SkerryClient, type SkerryClientOptions } from "../../src/index.ts";

export interface RecordedCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: unknown;
  readonly signal: AbortSignal | undefined;
}

export type Answer = Response | Error | ((call: RecordedCall) => Response | Promise<Response>);

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function apiError(status: number, code: string, message = code, headers: Record<string, string> = {}, details?: Record<string, unknown>): Response {
  return json(status, { error: details === undefined ? { code, message } : { code, message, details } }, headers);
}

export class FakeServer {
  readonly calls: RecordedCall[] = [];
  readonly sleeps: number[] = [];
  readonly #answers: Answer[] = [];
  keysMade = 0;

  answer(...answers: Answer[]): this {
    this.#answers.push(...answers);
    return this;
  }

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const call: RecordedCall = { method: init.method ?? "GET", url: new URL(input), headers: new Headers(init.headers), body, signal: init.signal ?? undefined };
    this.calls.push(call);
    if (call.signal?.aborted) throw call.signal.reason;
    const next = this.#answers.shift();
    if (next === undefined) throw new Error(`unexpected request ${call.method} ${call.url}`);
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next(call) : next;
  };

  readonly sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
    this.sleeps.push(ms);
    if (signal.aborted) throw signal.reason;
  };

  client(options: Partial<SkerryClientOptions> = {}): SkerryClient {
    return new SkerryClient({
      baseUrl: "http://skerry.test",
      apiKey: "sk_test",
      fetch: this.fetch,
      sleep: this.sleep,
      random: () => 0.5,
      idempotencyKey: () => `key-${++this.keysMade}`,
      ...options,
    });
  }
}

/** Answers after the request's signal aborts (or never). */
export function hang(call: RecordedCall): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = call.signal;
    if (signal === undefined) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export const WRITE_OK = { version: 2, count: 1, deduplicated: false };
