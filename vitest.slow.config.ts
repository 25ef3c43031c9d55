// The slow tier (npm run test:slow, after the fast tier in .ci/run): the tests that build or start something
// big, or need a process of their own; each file runs in a fresh one (vitest's default isolation).
// backends.test.ts runs its one body on TFEW_TEST_BACKENDS (default here: wasm,cpu).
import { defineConfig } from "vitest/config";
import { SLOW_TESTS } from "./vitest.config.js";

process.env.TFEW_TEST_BACKENDS ??= "wasm,cpu";

export default defineConfig({
  test: {
    include: [...SLOW_TESTS, "tests/matmul-kernels.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
  },
});
