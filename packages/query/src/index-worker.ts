/**
 * Worker thread body for building and serializing query indexes off the
 * main event loop (index-worker-pool.ts). Requests:
 *
 * - "docs": documents of build `task`, appended in arrival order (a big
 *   build arrives in slices, so no single message costs the sender long);
 * - "build": sorts build `task`'s documents by id and indexes them with
 *   `buildQueryIndex` (the code the main thread runs), answering with the
 *   index's state (index-transfer.ts; its arrays transferred);
 * - "serialize": an index's state and extra sections, answered with
 *   `serializeQueryIndex`'s bytes (transferred).
 *
 * Imports only sibling files, so it runs from TypeScript sources (under a
 * loader) and from the compiled JavaScript alike.
 */
import { parentPort } from "node:worker_threads";
import type { QueryDocument } from "./query-document.ts";
import { type ExtraIndexSection, serializeQueryIndex } from "./index-codec.ts";
import { type IndexStateMessage, indexStateMessage, queryIndexFromMessage, transferables } from "./index-transfer.ts";
import { type BuildQueryIndexOptions, buildQueryIndex } from "./query-index.ts";

export type IndexWorkerRequest =
  | { readonly type: "docs"; readonly task: number; readonly docs: readonly QueryDocument[] }
  | { readonly type: "build"; readonly task: number; readonly options: BuildQueryIndexOptions }
  | { readonly type: "serialize"; readonly task: number; readonly state: IndexStateMessage; readonly extra: readonly ExtraIndexSection[] };

export type IndexWorkerResponse =
  | { readonly type: "built"; readonly task: number; readonly state: IndexStateMessage | null }
  | { readonly type: "serialized"; readonly task: number; readonly bytes: Uint8Array }
  | { readonly type: "failed"; readonly task: number; readonly message: string };

/** The id order chunks are indexed in (tail-chunks.ts): the same documents give the same index. */
export function byId(a: QueryDocument, b: QueryDocument): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const builds = new Map<number, QueryDocument[]>();

function post(response: IndexWorkerResponse): void {
  const list = response.type === "built" ? transferables(response.state) : response.type === "serialized" ? transferables(response.bytes) : [];
  try {
    parentPort!.postMessage(response, list);
  } catch {
    parentPort!.postMessage(response); // a buffer that cannot be transferred is copied
  }
}

parentPort?.on("message", (message: IndexWorkerRequest) => {
  try {
    switch (message.type) {
      case "docs": {
        let docs = builds.get(message.task);
        if (docs === undefined) builds.set(message.task, (docs = []));
        for (const doc of message.docs) docs.push(doc);
        return;
      }
      case "build": {
        const docs = builds.get(message.task) ?? [];
        builds.delete(message.task);
        docs.sort(byId);
        const index = docs.length === 0 ? null : buildQueryIndex(docs, message.options);
        post({ type: "built", task: message.task, state: index === null ? null : indexStateMessage(index) });
        return;
      }
      case "serialize": {
        const bytes = serializeQueryIndex(queryIndexFromMessage(message.state), message.extra);
        post({ type: "serialized", task: message.task, bytes });
        return;
      }
    }
  } catch (error) {
    builds.delete(message.task);
    parentPort!.postMessage({ type: "failed", task: message.task, message: error instanceof Error ? error.message : String(error) } satisfies IndexWorkerResponse);
  }
});
