/**
 * TODO room header: lifecycle
 */
export { type ForkNamespaceOptions, NamespaceLifecycle } from "./namespace-lifecycle.ts";
