// The one rule for what a command writes, checked before any compute: an output is never one of the command's
// inputs (compared as real paths: ./p.jsonl and p.jsonl, symlinks and hard links are the same file), an existing
// output is replaced only with --overwrite, and a non-empty folder only when it is the command's own earlier output.
import { realpathSync, statSync, type Stats } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { TfewError } from "../errors.js";

export interface OutputTarget {
  flag: string; // the flag that names it ("--output"; "--out" for a file inside the --out folder)
  path: string;
  kind: "file" | "folder";
  /** what another value of `flag` names, for the message ("another --out folder"); default `kind` */
  flagNames?: "file" | "folder";
  /**
   * An existing file or non-empty folder is this command's own earlier output (the only kind --overwrite
   * replaces); default: any file, and any folder (its files are this command's outputs).
   */
  isOwn?: { test: (path: string, entries: readonly string[]) => boolean; not: string };
}

export interface InputSource {
  flag: string; // "--input", "--data", ...
  path: string | null | undefined; // absent inputs are skipped
}

export interface OutputCheck {
  command: string;
  outputs: readonly OutputTarget[];
  inputs: readonly InputSource[];
  overwrite: boolean;
}

/** Throws one line naming the output and the fix when an output is an input, exists without --overwrite, or is not the command's. */
export async function checkOutputs(check: OutputCheck): Promise<void> {
  for (const output of check.outputs) {
    const same = check.inputs.find((input) => input.path != null && samePath(output.path, input.path));
    if (same !== undefined) {
      throw new TfewError(
        `${check.command}: ${output.flag} ${output.path} is the same ${output.kind} as ${same.flag} ${same.path}; ` +
          `give another ${output.flag} (an input is never overwritten, not even with --overwrite)`,
      );
    }
    await checkExisting(check.command, output, check.overwrite);
  }
}

async function checkExisting(command: string, output: OutputTarget, overwrite: boolean): Promise<void> {
  const info = statOrNull(output.path);
  if (info === null) return;
  const other = `another ${output.flag} ${output.flagNames ?? output.kind}`;
  if (output.kind === "file" && info.isDirectory())
    throw new TfewError(`${command}: ${output.path} is a folder; give a file name as ${output.flag}`);
  if (output.kind === "folder" && !info.isDirectory())
    throw new TfewError(`${command}: ${output.flag} ${output.path} is a file; give a new folder name`);
  const entries = info.isDirectory() ? await readdir(output.path) : [];
  if (info.isDirectory() && entries.length === 0) return; // an empty folder the user made: filled
  if (output.isOwn !== undefined && !output.isOwn.test(output.path, entries)) {
    throw new TfewError(
      `${command}: ${output.path} ${output.isOwn.not}; choose ${other} (it is never overwritten, not even with --overwrite)`,
    );
  }
  if (!overwrite)
    throw new TfewError(`${command}: ${output.path} already exists; give --overwrite to replace it, or ${other}`);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Whether two paths name the same file or folder: same device and inode when both exist, else same real path. */
export function samePath(a: string, b: string): boolean {
  const sa = statOrNull(a);
  const sb = statOrNull(b);
  if (sa !== null && sb !== null) return sa.dev === sb.dev && sa.ino === sb.ino;
  return realPath(a) === realPath(b);
}

/** The real path of `path`, or of its nearest existing parent joined with the rest when it does not exist yet. */
function realPath(path: string): string {
  const full = resolve(path);
  try {
    return realpathSync(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(realPath(parent), basename(full));
  }
}
