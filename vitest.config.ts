// The fast tier (npm test): every test file except the slow tier's, which vitest.slow.config.ts runs
// (npm run test:slow: the kit build, the report in headless Chromium, 2,048-token inputs, one body per backend).
import { configDefaults, defineConfig } from "vitest/config";

export const SLOW_TESTS = [
  "tests/kit.test.ts",
  "tests/report-browser.test.ts",
  "tests/long-inputs.test.ts",
  "tests/backends.test.ts",
];

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...SLOW_TESTS],
    globalSetup: ["tests/global-setup.ts"], // the scratch folder of the shared demo runs (tests/helpers/demo-runs.ts)
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
