// Builds dist/tfjs-registrations.js (npm run build, after tsc): tfjs-core's own gradient and chained-op
// registrations (`tf.grad` of every op, `x.add(y)`-style methods), bundled by esbuild into one ES module that
// src/backend/tf.ts imports. tfjs-core's Node entry (dist/tf-core.node.js) registers neither, and the modules that
// do (dist/register_all_gradients.js, dist/public/chained_ops/register_all_chained_ops.js) use extension-less
// imports Node cannot load; @tensorflow/tfjs's own build bundles these same two. The bundle's copies of core
// modules share tfjs-core's engine, kernel registry and Tensor class (they live in tfjs's global namespace).
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "tfjs-registrations.js");
const core = join(root, "node_modules", "@tensorflow", "tfjs-core", "dist");
const entries = ["register_all_gradients.js", join("public", "chained_ops", "register_all_chained_ops.js")];

const missing = entries.find((entry) => !existsSync(join(core, entry)));
if (missing !== undefined) {
  console.error(`tfew: cannot build ${out}: ${join(core, missing)} is missing; run npm install`);
  process.exit(1);
}
await build({
  stdin: {
    contents: entries.map((entry) => `import ${JSON.stringify(`@tensorflow/tfjs-core/dist/${entry}`)};`).join("\n"),
    resolveDir: root,
    sourcefile: "tfjs-registrations-entry.js",
  },
  outfile: out,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "eof",
  logLevel: "error",
});
console.log(`tfew: built ${out}`);
