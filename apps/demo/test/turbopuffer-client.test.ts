/**
 * The turbopuffer-compatible API with the official client, on the embedded default store (local-fs).
 */
import { localFsStore } from "./support/harness.ts";
import { describeTurbopufferSuite } from "./support/turbopuffer-suite.ts";
import { describeTurbopufferVectorsSuite } from "./support/turbopuffer-vectors-suite.ts";

describeTurbopufferSuite("local-fs", localFsStore);
describeTurbopufferVectorsSuite("local-fs", localFsStore);
