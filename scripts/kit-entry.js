// Entry of the kit's one-file bundle (scripts/kit.js bundles it to tfew-kit/dist/cli/main.js): the CLI in the
// main thread, a training worker in worker threads (engine/pool.ts starts this same file), and `bench ...`.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import { provideBundledModule } from "../dist/backend/webgpu.js";

const kitRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// tfjs-backend-wasm's .wasm files travel in tfew-kit/wasm/ (src/backend/select.ts reads TFEW_WASM_DIR)
process.env.TFEW_WASM_DIR ??= join(kitRoot, "wasm");
// bundled with the app so it registers with the bundle's own tfjs-core (dawn.node stays a file in node_modules/)
provideBundledModule("@tensorflow/tfjs-backend-webgpu", () => import("@tensorflow/tfjs-backend-webgpu"));

if (!isMainThread) {
  await import("../dist/engine/worker-main.js");
} else if (process.argv[2] === "bench") {
  process.argv.splice(2, 1); // bench/main.js reads its own argv: `tfew bench prepare` → `prepare`
  await import("../dist/bench/main.js");
} else {
  const { main } = await import("../dist/cli/main.js");
  process.exitCode = await main(process.argv.slice(2));
}
