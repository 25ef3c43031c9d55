// scripts/kit.js ships the LTS Node from the npm registry (or this machine's Node when that cannot be had): it
// must be a version package.json's engines names.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.js";

type Check = (engines: string | undefined, version: string) => void;

describe("checkNodeVersion", () => {
  it("accepts versions in one of engines' ^X.Y.Z / >=X.Y.Z ranges, refuses the others with the reason", async () => {
    const { checkNodeVersion } = (await import(join(REPO_ROOT, "scripts", "kit.js") as string)) as {
      checkNodeVersion: Check;
    };
    const engines = "^20.19.0 || ^24.11.0";
    for (const ok of ["v20.20.2", "v20.19.0", "v24.11.0", "v24.22.3"])
      expect(() => checkNodeVersion(engines, ok), ok).not.toThrow();
    expect(() => checkNodeVersion(engines, "v22.11.0")).toThrow(
      /^the kit would ship Node v22\.11\.0, which package\.json engines\.node \(\^20\.19\.0 \|\| \^24\.11\.0\) does not name; set TFEW_LTS_NODE to a version it names$/,
    );
    for (const bad of ["v20.18.1", "v24.10.0", "v26.1.0", "v19.9.0"])
      expect(() => checkNodeVersion(engines, bad), bad).toThrow(/does not name/);
    expect(() => checkNodeVersion(">=20.19", "v26.1.0")).not.toThrow();
    expect(() => checkNodeVersion(">=20.19", "v20.18.1")).toThrow(/does not name/);
    expect(() => checkNodeVersion(undefined, "v20.20.2")).toThrow(/names no version/);
    expect(() => checkNodeVersion("20 - 24", "v20.20.2")).toThrow(/names no version/);
  });

  it("package.json's engines names the LTS Node the kit ships", async () => {
    const { checkNodeVersion } = (await import(join(REPO_ROOT, "scripts", "kit.js") as string)) as {
      checkNodeVersion: Check;
    };
    const { LTS_NODE_VERSION } = (await import(join(REPO_ROOT, "scripts", "lts-node.js") as string)) as {
      LTS_NODE_VERSION: string;
    };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(() => checkNodeVersion(pkg.engines.node, `v${LTS_NODE_VERSION}`)).not.toThrow();
  });
});
