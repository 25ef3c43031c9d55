// Interrupted writes leave nothing behind: SIGTERM / SIGINT during `tfew export`, `merge` or `score` remove the
// hidden temp folder or file (exit 143 / 130), and after a kill -9 the next write into the same folder removes the
// dead process's temp, never a live one's. TFEW_TEST_HOLD_WRITE=<name> stops the write just before its rename.
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL, requireBuild, scratch, startCli, type Spawned } from "./helpers/spawn-tfew.js";
import { demoRun } from "./helpers/demo-runs.js";
import { runTfew } from "./helpers/tfew-cli.js";

let work: string;
let adapters: [string, string];

beforeAll(async () => {
  requireBuild();
  work = await scratch("interrupted");
  adapters = [join(await demoRun("seed1"), "adapter"), join(await demoRun("seed2"), "adapter")];
}, 300_000);
afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const exportArgs = (out: string) => ["export", "--model", DEMO_MODEL, "--adapter", adapters[0], "--out", out];

/** Starts `tfew ...args` held just before it renames `out` into place; resolves with its temp path once held. */
async function held(args: string[], out: string): Promise<{ cli: Spawned; temp: string }> {
  const cli = startCli(args, { cwd: work, env: { TFEW_TEST_HOLD_WRITE: basename(out) } });
  await cli.waitFor("tfew: test hold: ");
  const name = new RegExp(`^\\.${basename(out)}\\.tmp-${cli.child.pid}@[^/]+-[0-9a-f]{12}$`);
  const temps = (await readdir(dirname(out))).filter((n) => name.test(n));
  expect(temps).toHaveLength(1); // named by its owner's pid and host
  return { cli, temp: join(dirname(out), temps[0] as string) };
}

const hidden = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith("."));

describe("signals during a write", () => {
  it("SIGTERM mid-export removes the temp folder of partial weights and exits 143", async () => {
    const out = join(work, "exported");
    const { cli, temp } = await held(exportArgs(out), out);
    expect(await readdir(temp)).toContain("model.safetensors"); // the weights, not yet in place
    cli.child.kill("SIGTERM");
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain("tfew: SIGTERM received; stopping (unfinished outputs removed)");
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(await hidden(work)).toEqual([]);
  });

  it("SIGINT mid-merge removes the temp folder and exits 130", async () => {
    const out = join(work, "merged");
    const args = ["merge", "--adapter", adapters[0], "--adapter", adapters[1], "--out", out];
    const { cli, temp } = await held(args, out);
    cli.child.kill("SIGINT");
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it("SIGTERM mid-score removes the temp file; the output is never half there", async () => {
    const pairs = join(work, "pairs.jsonl");
    await writeFile(pairs, `${JSON.stringify({ source: "Ticket: my invoice is wrong", target: "billing" })}\n`);
    const out = join(work, "scores.jsonl");
    const { cli, temp } = await held(["score", "--model", DEMO_MODEL, "--input", pairs, "--output", out], out);
    expect(existsSync(temp)).toBe(true);
    cli.child.kill("SIGTERM");
    expect((await cli.done).code).toBe(143);
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });
});

describe("after kill -9", () => {
  it("the next export into the same folder removes the dead process's temp folder, not a live process's", async () => {
    const parent = join(work, "models");
    const live = await held(exportArgs(join(parent, "live")), join(parent, "live"));
    const killed = await held(exportArgs(join(parent, "killed")), join(parent, "killed"));
    killed.cli.child.kill("SIGKILL");
    expect((await killed.cli.done).signal).toBe("SIGKILL");
    expect(await readdir(killed.temp)).toContain("model.safetensors"); // kill -9 cannot clean up
    const next = await runTfew(exportArgs(join(parent, "next")));
    expect(next.code, next.stderr).toBe(0);
    expect(existsSync(killed.temp)).toBe(false); // its owner is gone
    expect(existsSync(live.temp)).toBe(true); // its owner is still writing
    live.cli.child.kill("SIGTERM");
    expect((await live.cli.done).code).toBe(143);
    expect((await readdir(parent)).sort()).toEqual(["next"]);
  });

  it("the next file write into the same folder removes the dead process's temp file", async () => {
    const pairs = join(work, "pairs2.jsonl");
    await writeFile(pairs, `${JSON.stringify({ source: "Ticket: the app crashes", target: "bug report" })}\n`);
    const out = join(work, "files", "scores.jsonl");
    await mkdir(dirname(out));
    const args = ["score", "--model", DEMO_MODEL, "--input", pairs, "--output", out];
    const killed = await held(args, out);
    killed.cli.child.kill("SIGKILL");
    await killed.cli.done;
    expect(existsSync(killed.temp)).toBe(true);
    const r = await runTfew(args);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(dirname(out))).toEqual(["scores.jsonl"]);
  });
});
