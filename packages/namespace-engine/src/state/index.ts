/**
 * TODO room header: state
 */
export { loadContainer, type LoadDependencies, type LoadedContainer, loadFoldContainer } from "./container-loader.ts";
export { estimateDocumentBytes, NamespaceState, patched, upsertedDocument } from "./namespace-state.ts";
export { PinStore } from "./pin-store.ts";
export { StateCache, type StateCacheStats } from "./state-cache.ts";
export { StatePersistence, type StatePersistenceStats } from "./state-persistence.ts";
export { type StartReport, StateWarmer, type WarmResult } from "./state-warmer.ts";
