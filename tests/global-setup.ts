// vitest globalSetup: one scratch folder per `vitest run` for the demo runs that several test files share
// (tests/helpers/demo-runs.ts trains each once, on first use); removed when the run ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    demoRunsDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "tfew-demo-runs-"));
  project.provide("demoRunsDir", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
