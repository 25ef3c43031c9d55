// Builds the optional native matMul (native/tfew_blas.c → native/build/tfew_blas.node) with the system C
// compiler and Node's own headers. Never fails the install: without a compiler or headers tfew keeps the
// wasm matMul. OpenBLAS itself is found at run time (dlopen), not here.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "native", "tfew_blas.c");
const out = join(root, "native", "build", "tfew_blas.node");
const includes = [
  join(dirname(process.execPath), "..", "include", "node"),
  "/usr/include/node",
  "/usr/local/include/node",
];
const include = includes.find((dir) => existsSync(join(dir, "node_api.h")));
if (include === undefined) {
  console.log("tfew: native matMul not built (Node's headers, node_api.h, not found); the wasm matMul is used");
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC ?? "cc";
const r = spawnSync(
  cc,
  ["-O3", "-fno-math-errno", "-shared", "-fPIC", `-I${include}`, source, "-o", out, "-ldl", "-lm"],
  {
    encoding: "utf8",
  },
);
if (r.status !== 0) {
  console.log(
    `tfew: native matMul not built (${cc} failed: ${(r.stderr || String(r.error)).split("\n")[0]}); the wasm matMul is used`,
  );
  process.exit(0);
}
console.log(`tfew: built ${out}`);
