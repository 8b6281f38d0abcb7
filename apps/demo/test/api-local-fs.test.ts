/**
 * The HTTP API suite on the embedded default store (local-fs).
 */
import { describeApiSuite } from "./support/api-suite.ts";
import { localFsStore } from "./support/harness.ts";

describeApiSuite("local-fs", localFsStore);
