/**
 * TODO room header: mutation
 */
export { NamespaceWals } from "./namespace-wal.ts";
