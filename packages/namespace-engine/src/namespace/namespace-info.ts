/**
 * Public shapes of namespace lifecycle calls: creation options, the info a
 * `getNamespace` returns, read options and the deletion result.
 */

import type { NamespaceSchemaInfo, NamespaceSchemaInput } from "./namespace-schema.ts";
import type { ResolvedTextFieldOptions, TextFieldOptions } from "./text-field-options.ts";

/** Distance metric of a namespace's dense vectors. */
export type DistanceMetric = "cosine" | "dot" | "euclidean";

export interface CreateNamespaceOptions {
  /** Default "cosine". */
  readonly distanceMetric?: DistanceMetric | undefined;
  /** String labels (at most 64; keys 1-128 characters, values up to 1,024). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Full-text options per text field (text-field-options.ts); fields not listed have the defaults. */
  readonly textFields?: Readonly<Record<string, TextFieldOptions>> | undefined;
  /** The typed schema (namespace-schema.ts): id type, attribute types, filterable. */
  readonly schema?: NamespaceSchemaInput | undefined;
}

export interface NamespaceInfo {
  /** `org/project/namespace`. */
  readonly path: string;
  readonly org: string;
  readonly project: string;
  readonly namespace: string;
  /** Manifest version the info describes. */
  readonly version: number;
  /** Live documents at that version. */
  readonly docCount: number;
  /** Row containers by kind. */
  readonly logBatches: number;
  readonly segments: number;
  /** Bytes of all row containers. */
  readonly bytes: number;
  readonly distanceMetric: DistanceMetric;
  /** Fixed by the first vector written; undefined before. */
  readonly vectorDimension: number | undefined;
  /** Full-text options of the text fields that have any (every option resolved). */
  readonly textFields: Readonly<Record<string, ResolvedTextFieldOptions>>;
  /** The typed schema: id type (undefined: not fixed yet; string ids) and attributes; undefined: schemaless. */
  readonly schema: NamespaceSchemaInfo | undefined;
  /** Branch source: the namespace and version this one was branched from. */
  readonly parent: { readonly namespace: string; readonly version: number } | undefined;
  /** Pinned (persisted engine-wide; its materialized state is never evicted and is warmed by `start`). */
  readonly pinned: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ReadOptions {
  /**
   * "strong" (default): read the latest manifest from the store first (one
   * LIST). "eventual": use this process's cached latest manifest when it is
   * at most `readStalenessMs` old (this process's own commits are always
   * visible to it).
   */
  readonly consistency?: "strong" | "eventual" | undefined;
  /** Read the namespace as of this manifest version. */
  readonly atVersion?: number | undefined;
}

export interface ScanOptions extends ReadOptions {
  /** Return documents whose id sorts after this one. */
  readonly after?: string | undefined;
  /** Page size; default 1,000, at most 10,000. */
  readonly limit?: number | undefined;
}

export interface DeleteNamespaceResult {
  /** Version of the final (deleted) manifest. */
  readonly version: number;
  /** True when the namespace was already deleted (this call finished its cleanup). */
  readonly alreadyDeleted: boolean;
  /** Deletes this call's cleanup issued (objects and old manifests; deleting an absent key counts too). */
  readonly objectsDeleted: number;
}
