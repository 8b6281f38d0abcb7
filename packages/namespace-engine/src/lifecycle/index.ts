/**
 * lifecycle: NamespaceLifecycle, the engine's namespace calls: create, get (info), list and list
 * pages, update labels / text fields / schema (metadata-only commits), delete (and finishing an
 * interrupted purge), branch and copy. Depends on core, manifest, namespace, sharing, write (and
 * state's types).
 *
 * Other rooms import this room through this file only.
 */
export { type ForkNamespaceOptions, NamespaceLifecycle } from "./namespace-lifecycle.ts";
