export * from "./errors.ts";
export * from "./keys.ts";
export type * from "./storage-provider.ts";
export { PutModes } from "./storage-provider.ts";
