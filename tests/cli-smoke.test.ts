// One smoke test per command through the real process (node bin/tfew.js → dist/): each command's --help exits 0
// and shows its help line, and `tfew inspect` runs end to end. Everything else about the CLI is tested in-process.
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../src/cli/main.js";
import { DEMO_MODEL_DIR, ensureBuilt, runTfewProcess } from "./helpers/tfew-cli.js";

describe("the tfew process", () => {
  it.each(COMMANDS.map((c) => [c.command.split(" ")[0] as string, c.describe] as const))(
    "tfew %s --help exits 0 with its help line",
    async (name, describe) => {
      await ensureBuilt();
      const r = await runTfewProcess([name, "--help"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.replace(/\s+/g, " ")).toContain(describe.replace(/\s+/g, " "));
    },
  );

  it("tfew inspect prints the demo model's parameter counts", async () => {
    await ensureBuilt();
    const r = await runTfewProcess(["inspect", "--model", DEMO_MODEL_DIR]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^parameters: [\d,]+ \(embedding/m);
  });
});
