// scripts/kit.js ships the build machine's own Node: it must be the major version package.json's engines names.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.js";

type Check = (engines: string | undefined, version: string) => void;

describe("checkNodeVersion", () => {
  it("accepts the engines major at or above its minor, refuses other majors and older minors with the reason", async () => {
    const { checkNodeVersion } = (await import(join(REPO_ROOT, "scripts", "kit.js") as string)) as {
      checkNodeVersion: Check;
    };
    expect(() => checkNodeVersion(">=20.19", "v20.20.2")).not.toThrow();
    expect(() => checkNodeVersion(">=20.19", "v20.19.0")).not.toThrow();
    expect(() => checkNodeVersion(">=20.19", "v22.11.0")).toThrow(
      /this Node is v22\.11\.0, but the kit ships the build machine's own Node and tfew's engines ask for >=20\.19 \(major 20\); run npm run kit with Node 20\.19\+/,
    );
    expect(() => checkNodeVersion(">=20.19", "v20.18.1")).toThrow(/major 20/);
    expect(() => checkNodeVersion(undefined, "v20.20.2")).toThrow(/names no version/);
  });
});
