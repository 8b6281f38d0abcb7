/**
 * TODO room header: namespace
 */
export { type DocumentId, documentIdKey, fitsIdType, normalizedStringId, uintIdKey } from "./document-ids.ts";
export type { DocumentInput, DocumentPatch, JsonObject, JsonValue, SparseVector, StoredDocument } from "./document.ts";
export { type ListingPageOptions, listNamespaceNamesPage, listVersionsPage, liveNamespaces, type NamespaceNamesPage, type VersionsPage } from "./listing-pages.ts";
export type { CreateNamespaceOptions, DeleteNamespaceResult, DistanceMetric, NamespaceInfo, ReadOptions, ScanOptions } from "./namespace-info.ts";
export { mergeSchema, type NamespaceSchemaInput, resolveSchemaInput, schemaInfo, sortedAttributes, unfilterableAttributes } from "./namespace-schema.ts";
export { resolveTextFields, textConfigOf, textFieldConfigs, type TextFieldOptions, textFieldsRecord, textIndexKey } from "./text-field-options.ts";
