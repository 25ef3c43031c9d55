// Paths to test material: fixtures copied into tests/, and ../shared (tokenizer, RAFT data) which tests
// skip with a clear message when absent.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURE_DIR = join(REPO_ROOT, "tests", "fixtures", "hf-reference");
export const GOLD_MODEL_DIR = join(FIXTURE_DIR, "t5-tiny-gated");
export const SHARED_DIR = process.env.TFEW_SHARED_DIR ?? resolve(REPO_ROOT, "..", "shared");
export const SHARED_TOKENIZER_DIR = join(SHARED_DIR, "models", "t5-tokenizer");
export const SHARED_RAFT_DIR = join(SHARED_DIR, "data", "raft");

export const hasSharedTokenizer = existsSync(join(SHARED_TOKENIZER_DIR, "tokenizer.json"));
export const hasSharedRaft = existsSync(SHARED_RAFT_DIR);

/** Printed by tests that skip because ../shared is absent. */
export function skipNote(what: string): string {
  return `skipped: ${what} not found under ${SHARED_DIR} (set TFEW_SHARED_DIR or place shared/ beside the repo)`;
}

/** Whether an optional package resolves from the repo (resolving does not import it: no side effects). */
export function isInstalled(specifier: string): boolean {
  try {
    createRequire(join(REPO_ROOT, "package.json")).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** false when tfjs-node is installed (scripts/tfjs-node-tensorflow.sh), else the reason tests skip. */
export const noTfjsNode = isInstalled("@tensorflow/tfjs-node")
  ? false
  : "no @tensorflow/tfjs-node here: run scripts/tfjs-node-tensorflow.sh";
