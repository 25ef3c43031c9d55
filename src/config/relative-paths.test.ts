import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadRunConfig } from "./load.js";

const root = mkdtempSync(join(tmpdir(), "tfew-relpaths-"));
const cwd = join(root, "work");
const configDir = join(root, "project", "configs");
mkdirSync(cwd, { recursive: true });
mkdirSync(join(configDir, "data", "task"), { recursive: true });
mkdirSync(join(cwd, "here"), { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(yaml: string, sets: string[] = []): () => unknown {
  const file = join(configDir, "run.yaml");
  writeFileSync(file, yaml);
  const before = process.cwd();
  return () => {
    process.chdir(cwd);
    try {
      return loadRunConfig({ files: [file], sets });
    } finally {
      process.chdir(before);
    }
  };
}

describe("relative paths in a config file", () => {
  it("a path missing from the current folder but beside the config file is one line saying both", () => {
    const call = load("data:\n  path: data/task\n");
    expect(call).toThrow(
      `data.path data/task in ${join(configDir, "run.yaml")} does not exist in the current folder ${cwd}, which ` +
        `relative paths in a config file resolve against, but does beside the config file: write it as ` +
        `${join(configDir, "data", "task")}, or run tfew from ${configDir}`,
    );
  });

  it("is checked in data.tasks too", () => {
    expect(load("data:\n  tasks: [{name: a, path: data/task}]\n")).toThrow(/^data\.tasks\[0\]\.path data\/task in /);
  });

  it("leaves paths that exist in the current folder, absolute paths, hub ids and --set values alone", () => {
    expect(load("data:\n  path: here\n")).not.toThrow();
    expect(load(`data:\n  path: ${join(configDir, "data", "task")}\n`)).not.toThrow();
    expect(load("model: google/flan-t5-small\ndata:\n  path: raft:ade_corpus_v2\n")).not.toThrow();
    expect(load("data:\n  path: here\n", ["data.path=data/task"])).not.toThrow();
  });
});
