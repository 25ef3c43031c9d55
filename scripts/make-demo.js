#!/usr/bin/env node
// `npm run demo:make`: regenerates data/demo-model and data/demo-task with the compiled src/demo/make-demo.ts
// (dist/ is built by `npm run build`, which `npm install` runs through "prepare").
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist", "demo", "make-demo.js");
if (!existsSync(compiled)) {
  process.stderr.write("make-demo: dist/demo/make-demo.js is missing; run `npm run build` first\n");
  process.exit(1);
}
const { makeDemo } = await import(compiled);
const { modelDir, taskDir } = await makeDemo({ outDir: join(root, "data") });
process.stdout.write(`wrote ${relative(root, modelDir)} and ${relative(root, taskDir)}\n`);
