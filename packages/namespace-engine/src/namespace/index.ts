/**
 * namespace: what a namespace is, as callers declare and read it. Documents and typed ids; the typed
 * schema (`createNamespace({ schema })`, `updateSchema`); full-text field options; the public shapes
 * of lifecycle calls (NamespaceInfo, ReadOptions, ...); listing pages of a project's names and of a
 * namespace's manifest versions. Depends on core (and on manifest's EngineContext type).
 *
 * Other rooms import this room through this file only.
 */
export { type DocumentId, documentIdKey, fitsIdType, normalizedStringId, uintIdKey } from "./document-ids.ts";
export type { DocumentInput, DocumentPatch, JsonObject, JsonValue, SparseVector, StoredDocument } from "./document.ts";
export { type ListingPageOptions, listNamespaceNamesPage, listVersionsPage, liveNamespaces, type NamespaceNamesPage, type VersionsPage } from "./listing-pages.ts";
export type { CreateNamespaceOptions, DeleteNamespaceResult, DistanceMetric, NamespaceInfo, ReadOptions, ScanOptions } from "./namespace-info.ts";
export { mergeSchema, type NamespaceSchemaInput, resolveSchemaInput, schemaInfo, sortedAttributes, unfilterableAttributes } from "./namespace-schema.ts";
export { resolveTextFields, textConfigOf, textFieldConfigs, type TextFieldOptions, textFieldsRecord, textIndexKey } from "./text-field-options.ts";
