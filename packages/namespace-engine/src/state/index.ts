/**
 * state: materialized namespace states. NamespaceState (every live document at one version), the
 * StateCache that builds and keeps them (folding containers read by container-loader), local
 * persistence of warmed states (StatePersistence), the engine-wide pins document (PinStore) and
 * StateWarmer (`warm`, `pin`, `unpin`, `start`). Depends on core, log and manifest.
 *
 * Other rooms import this room through this file only.
 */
export { loadContainer, type LoadDependencies, type LoadedContainer, loadFoldContainer } from "./container-loader.ts";
export { estimateDocumentBytes, NamespaceState, patched, upsertedDocument } from "./namespace-state.ts";
export { PinStore } from "./pin-store.ts";
export { StateCache, type StateCacheStats } from "./state-cache.ts";
export { StatePersistence, type StatePersistenceStats } from "./state-persistence.ts";
export { type StartReport, StateWarmer, type WarmResult } from "./state-warmer.ts";
