// `npm run kit`: writes kit/tfew-kit-linux-x64.tar.xz, a folder tfew-kit/ that trains on a bare Linux host
// (no Node, npm or internet): this machine's Node binary, the app bundled by esbuild into one ESM file, the
// wasm binaries, Dawn (webgpu) for WebGPU, the native BLAS addon when built, configs, demo model and task,
// the gold fixtures, scripts/gpu-check.sh and the Vulkan loader (.deb from apt-get download) for hosts lacking it.
//
//   node scripts/kit.js [--fast] [--keep-folder] [--out DIR]     (npm run kit builds dist/ first)
// --fast: xz -0 and no size limit (tests: ~25 s instead of ~3 min; the release kit is xz -9, at most 40 MiB).
// Env: TFEW_KIT_VULKAN_DEB=path/to/libvulkan1.deb (use it instead of apt-get download; "none" skips it).
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const LIMIT_MIB = 40;
const KIT_NAME = "tfew-kit-linux-x64.tar.xz";
const FIXTURE_FILES = ["config.json", "model.safetensors", "ia3.safetensors", "tfew.safetensors"];
const log = (line) => process.stderr.write(`kit: ${line}\n`);

class KitError extends Error {}

function parseArgs(argv) {
  const args = { fast: false, keepFolder: false, out: join(root, "kit") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--fast") args.fast = true;
    else if (a === "--keep-folder") args.keepFolder = true;
    else if (a === "--out") args.out = argv[++i];
    else throw new KitError(`unknown argument ${a}; use --fast, --keep-folder, --out DIR`);
  }
  return args;
}

/** The kit carries this very Node: its major must be the one package.json's engines names (">=20.19" → 20). */
export function checkNodeVersion(engines, version) {
  const min = /(\d+)(?:\.(\d+))?/.exec(engines ?? "");
  if (min === null) throw new KitError(`package.json engines.node "${engines}" names no version`);
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  const wantMajor = Number(min[1]);
  const wantMinor = Number(min[2] ?? 0);
  if (major !== wantMajor || minor < wantMinor) {
    throw new KitError(
      `this Node is ${version}, but the kit ships the build machine's own Node and tfew's engines ask for ${engines} (major ${wantMajor}); run npm run kit with Node ${wantMajor}.${wantMinor}+`,
    );
  }
}

function need(path, hint) {
  if (!existsSync(path)) throw new KitError(`${path} is missing; ${hint}`);
  return path;
}

async function bundle(kit) {
  const { build } = await import("esbuild");
  need(join(root, "dist", "cli", "main.js"), "run npm run build (npm run kit does it first)");
  need(
    join(root, "node_modules", "@tensorflow", "tfjs-backend-webgpu", "package.json"),
    "install the optional dependencies: npm install --include=optional",
  );
  await build({
    entryPoints: [join(root, "scripts", "kit-entry.js")],
    outfile: join(kit, "dist", "cli", "main.js"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // optional native packages stay outside: tfjs-node(-gpu) need their own tfjs-core; dawn.node and the BLAS addon are files
    external: ["webgpu", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", "*.node"],
    // CommonJS parts of tfjs (emscripten's wasm loader) expect require, __filename and __dirname
    banner: {
      js: 'import { createRequire as __kitRequire } from "node:module"; import { fileURLToPath as __kitPath } from "node:url"; const require = __kitRequire(import.meta.url); const __filename = __kitPath(import.meta.url); const __dirname = __kitPath(new URL(".", import.meta.url));',
    },
    legalComments: "linked",
    logLevel: "error",
  });
}

function copyNode(kit) {
  const node = join(kit, "bin", "node");
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const ldd = spawnSync("ldd", [node], { encoding: "utf8" });
  if (ldd.status === 0 && /libnode\.so/.test(ldd.stdout)) {
    throw new KitError(
      `${process.execPath} links libnode.so (a distribution build); use an official nodejs.org build of Node ${process.versions.node.split(".")[0]}`,
    );
  }
  // the official binary carries symbols (~13 MB); stripped it still runs and packs ~2 MB smaller
  if (spawnSync("strip", ["--strip-all", node]).status === 0) log("stripped the Node binary");
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  if (version !== process.version) throw new KitError(`the copied Node says ${version}, expected ${process.version}`);
}

function copyWebgpu(kit) {
  const pkg = need(
    join(root, "node_modules", "webgpu"),
    "install the optional dependencies: npm install --include=optional",
  );
  const dest = join(kit, "node_modules", "webgpu");
  mkdirSync(join(dest, "dist", "linux-x64"), { recursive: true });
  for (const file of ["package.json", "index.js", "LICENSE.md"])
    if (existsSync(join(pkg, file))) copyFileSync(join(pkg, file), join(dest, file));
  copyFileSync(
    need(join(pkg, "dist", "linux-x64", "dawn.node"), "the webgpu package has no linux-x64 build"),
    join(dest, "dist", "linux-x64", "dawn.node"),
  );
}

/** apt-get download libvulkan1 (or TFEW_KIT_VULKAN_DEB); the .deb plus its libvulkan.so.1 unpacked with dpkg-deb. */
function addVulkanLoader(kit) {
  const dir = join(kit, "vulkan");
  mkdirSync(dir, { recursive: true });
  let deb = process.env.TFEW_KIT_VULKAN_DEB;
  if (deb === "none")
    return log("WARNING: TFEW_KIT_VULKAN_DEB=none: no Vulkan loader in the kit (hosts need libvulkan1)");
  if (deb === undefined) {
    const tmp = mkdtempSync(join(tmpdir(), "tfew-kit-apt-"));
    const r = spawnSync("apt-get", ["download", "libvulkan1"], { cwd: tmp, encoding: "utf8", timeout: 120_000 });
    deb = readdirSync(tmp)
      .map((f) => join(tmp, f))
      .find((f) => f.endsWith(".deb"));
    if (r.status !== 0 || deb === undefined) {
      return log(
        `WARNING: apt-get download libvulkan1 failed (${(r.error?.message ?? r.stderr ?? "").split("\n").find((l) => l.trim() !== "") ?? "no output"}); the kit has no Vulkan loader, so WebGPU needs the host's libvulkan1`,
      );
    }
  }
  copyFileSync(need(deb, "TFEW_KIT_VULKAN_DEB must name a .deb"), join(dir, basename(deb)));
  const unpacked = mkdtempSync(join(tmpdir(), "tfew-kit-deb-"));
  if (spawnSync("dpkg-deb", ["-x", deb, unpacked]).status !== 0)
    return log("WARNING: dpkg-deb not found: the .deb is in vulkan/ and gpu-check.sh unpacks it on the host");
  const libDir = join(unpacked, "usr", "lib", "x86_64-linux-gnu");
  mkdirSync(join(dir, "lib"), { recursive: true });
  for (const f of readdirSync(libDir).filter((f) => f.startsWith("libvulkan.so.1")))
    cpSync(join(libDir, f), join(dir, "lib", f), { verbatimSymlinks: true });
  rmSync(unpacked, { recursive: true, force: true });
}

function copyTree(kit) {
  const copy = (from, to = from) => cpSync(join(root, from), join(kit, to), { recursive: true });
  copy("configs");
  copy(join("data", "demo-model"));
  copy(join("data", "demo-task"));
  mkdirSync(join(kit, "wasm"), { recursive: true });
  const wasmDir = join(root, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith(".wasm")))
    copyFileSync(join(wasmDir, f), join(kit, "wasm", f));
  const fixtures = join("tests", "fixtures", "hf-reference", "t5-tiny-gated");
  mkdirSync(join(kit, fixtures), { recursive: true });
  for (const f of FIXTURE_FILES) copyFileSync(join(root, fixtures, f), join(kit, fixtures, f));
  for (const f of ["gpu-check.sh", "gpu-check-summary.js", "torch_reference.py"]) copy(join("scripts", f));
  copyFileSync(join(root, "scripts", "kit-launcher.sh"), join(kit, "bin", "tfew"));
  chmodSync(join(kit, "bin", "tfew"), 0o755);
  const addon = join(root, "native", "build", "tfew_blas.node");
  if (existsSync(addon)) copy(join("native", "build", "tfew_blas.node"));
  else log("native BLAS addon not built: the kit uses wasm's matMul (npm run build builds it where a C compiler is)");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const node = process.version;
  writeFileSync(
    join(kit, "package.json"),
    `${JSON.stringify({ name: "tfew-kit", version: pkg.version, private: true, type: "module", node }, null, 2)}\n`,
  );
  writeFileSync(
    join(kit, "README.txt"),
    [
      `tfew ${pkg.version} portable kit (linux-x64, Node ${node} inside; the host needs no Node, npm or internet).`,
      "  bin/tfew train                         # the demo, on wasm",
      "  bin/tfew train --backend webgpu ...    # NVIDIA GPU through Vulkan (Dawn); see tfew's README, GPU hosts",
      "  scripts/gpu-check.sh [OUT_DIR]         # the GPU check: one JSON summary, OUT_DIR/gpu-check.json",
      "Licenses: dist/cli/main.js.LEGAL.txt (bundled packages), licenses/ (Node, Dawn).",
      "",
    ].join("\n"),
  );
  mkdirSync(join(kit, "licenses"), { recursive: true });
  const nodeLicense = [
    join(dirname(process.execPath), "..", "share", "doc", "node", "LICENSE"),
    "/usr/share/doc/nodejs/LICENSE",
  ].find((f) => existsSync(f));
  if (nodeLicense !== undefined) copyFileSync(nodeLicense, join(kit, "licenses", "node-LICENSE"));
  const dawnLicense = join(root, "node_modules", "webgpu", "LICENSE.md");
  if (existsSync(dawnLicense)) copyFileSync(dawnLicense, join(kit, "licenses", "webgpu-LICENSE.md"));
}

function pack(out, kitParent, level) {
  const target = join(out, KIT_NAME);
  const partial = `${target}.partial`;
  const r = spawnSync(
    "sh",
    ["-c", `tar -C "$1" -cf - tfew-kit | xz -${level} -T0 -c > "$2"`, "sh", kitParent, partial],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (r.status !== 0) throw new KitError("tar | xz failed (both must be on PATH)");
  renameSync(partial, target);
  return target;
}

async function main() {
  const t0 = performance.now();
  const args = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  checkNodeVersion(pkg.engines?.node, process.version);
  mkdirSync(args.out, { recursive: true });
  const parent = mkdtempSync(join(args.out, ".build-"));
  const kit = join(parent, "tfew-kit");
  try {
    mkdirSync(join(kit, "bin"), { recursive: true });
    await bundle(kit);
    copyNode(kit);
    copyWebgpu(kit);
    copyTree(kit);
    addVulkanLoader(kit);
    const level = args.fast ? 0 : 9;
    const file = pack(args.out, parent, level);
    const mib = statSync(file).size / 2 ** 20;
    log(
      `wrote ${file}: ${mib.toFixed(1)} MiB (xz -${level}${args.fast ? ", --fast: size limit not checked" : ""}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; Node ${process.version}`,
    );
    if (args.keepFolder) {
      rmSync(join(args.out, "tfew-kit"), { recursive: true, force: true });
      renameSync(kit, join(args.out, "tfew-kit"));
    }
    if (!args.fast && mib > LIMIT_MIB)
      throw new KitError(`${file} is ${mib.toFixed(1)} MiB, over the ${LIMIT_MIB} MiB limit`);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(
      error instanceof KitError ? `kit: error: ${error.message}\n` : `kit: internal error: ${error.stack ?? error}\n`,
    );
    process.exitCode = 1;
  });
}
