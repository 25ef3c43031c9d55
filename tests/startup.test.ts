// What a command loads: `tfew --help` loads no TensorFlow.js and no data-format, hub or scheduler package, and
// `tfew train` on the demo loads neither apache-arrow, hyparquet, kubernetes-models nor @huggingface/hub (each
// command imports its room lazily). Spawns dist/ with a loader hook that records every module URL
// (tests/helpers/record-loads.mjs).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.js";
import { ensureBuilt, makeTempDir, removeTempDir, TFEW_BIN } from "./helpers/tfew-cli.js";

let tmp: string;

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("startup");
});

afterAll(() => removeTempDir(tmp));

/** The packages (node_modules/<name>) a `tfew ...args` process loaded. */
function loadedPackages(args: string[], log: string): Set<string> {
  const hook = join(REPO_ROOT, "tests", "helpers", "record-loads.mjs");
  const r = spawnSync(process.execPath, ["--import", hook, TFEW_BIN, ...args], {
    cwd: tmp,
    env: { ...process.env, TFEW_LOAD_LOG: log },
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const urls = readFileSync(log, "utf8").trim().split("\n");
  const names = urls.flatMap((url) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return m?.[1] === undefined ? [] : [m[1]];
  });
  return new Set(names);
}

describe("startup imports", () => {
  it("tfew --help loads only the parser and the config's yaml and zod", () => {
    const loaded = [...loadedPackages(["--help"], join(tmp, "help.log"))];
    expect(loaded.filter((name) => !PARSER.includes(name)).sort()).toEqual(["yaml", "zod"]);
  });

  it("tfew train on the demo loads TensorFlow.js but not apache-arrow, hyparquet or kubernetes-models", () => {
    const args = ["train", "--out", join(tmp, "run"), "--set", "train.steps=1", "--set", "workers=1"];
    const loaded = loadedPackages([...args, "--set", "monitor.gpu=off"], join(tmp, "train.log"));
    expect([...loaded].some((name) => name.startsWith("@tensorflow/"))).toBe(true); // the hook does see packages
    for (const name of ["apache-arrow", "hyparquet", "hyparquet-compressors", "kubernetes-models", "@huggingface/hub"])
      expect(loaded.has(name), name).toBe(false);
  });
});

/** yargs and its own dependencies: what the parser needs, not a command's room. */
const PARSER = [
  "yargs",
  "yargs-parser",
  "cliui",
  "escalade",
  "get-caller-file",
  "get-east-asian-width",
  "string-width",
  "strip-ansi",
  "wrap-ansi",
  "y18n",
];
