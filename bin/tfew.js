#!/usr/bin/env node
// tfew command-line entry: runs the compiled CLI (npm install builds dist/ through the "prepare" script).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write(
    "tfew: error: dist/cli/main.js is missing; run `npm install` (or `npm run build`) in the tfew folder first\n",
  );
  process.exit(1);
}
const { main: run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
