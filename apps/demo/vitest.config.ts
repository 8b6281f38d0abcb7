import { skerryVitestConfig } from "../../vitest.shared.ts";

export default skerryVitestConfig({ testTimeout: 60_000 });
