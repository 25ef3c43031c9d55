// selectBackend("auto") end to end with a stand-in host (GPU visible or not, imports recorded): on CPU it takes the
// measured faster backend without importing tfjs-node; a CPU-only TensorFlow on a GPU host is removed again.
import { describe, expect, it } from "vitest";
import { HOST, selectBackend, tensorflowInfo, type HostProbe } from "./select.js";
import { tf } from "./tf.js";
import { noTfjsNode } from "../../tests/helpers/shared.js";

/** A host whose imports are recorded; `fail` makes every import reject (as when no tfjs-node is installed). */
function probe(cudaGpu: boolean, cpuAuto: "wasm" | "tensorflow", fail = false): HostProbe & { imported: string[] } {
  const imported: string[] = [];
  const importPackage = async (pkg: string): Promise<unknown> => {
    imported.push(pkg);
    if (fail) throw new Error(`Cannot find package '${pkg}'`);
    return HOST.importPackage(pkg);
  };
  return { cudaGpu: () => cudaGpu, importPackage, cpuAuto: () => cpuAuto, imported };
}

describe("auto without tfjs-node imports", () => {
  // first in the file: tfjs-node's import registers "tensorflow" at priority 3 and makes it the active backend
  it("on a CPU host picks wasm without importing tfjs-node", async () => {
    const host = probe(false, "wasm");
    const choice = await selectBackend("auto", {}, host);
    expect(host.imported).toEqual([]);
    expect(choice.name).toBe("wasm");
    expect(choice.reason).toMatch(
      /^auto: WebAssembly SIMD \(no CUDA GPU; faster than tensorflow on CPU for this model size\)/,
    );
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.findBackendFactory("tensorflow")).toBeNull();
  });

  it("with a CUDA GPU but no tfjs-node falls back to wasm after trying both packages", async () => {
    const host = probe(true, "wasm", true);
    const choice = await selectBackend("auto", {}, host);
    expect(host.imported).toEqual(["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]);
    expect(choice.name).toBe("wasm");
    expect(choice.reason).toMatch(/TensorFlow does not run on the CUDA GPU here/);
  });

  it("a model where tensorflow is faster, but no tfjs-node: wasm, and the reason names the script that builds it", async () => {
    const host = probe(false, "tensorflow", true);
    const choice = await selectBackend("auto", {}, host);
    expect(host.imported).toEqual(["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]);
    expect(choice.name).toBe("wasm");
    expect(choice.reason).toMatch(/tensorflow would be faster for this model: scripts\/tfjs-node-tensorflow\.sh/);
  });
});

describe.skipIf(noTfjsNode)(`auto with tfjs-node (${noTfjsNode || "installed"})`, () => {
  it("takes tensorflow on CPU where it is the measured faster one (cpuAuto tensorflow)", async () => {
    const choice = await selectBackend("auto", {}, probe(false, "tensorflow"));
    expect(choice.name).toBe("tensorflow");
    expect(choice.reason).toMatch(
      /^auto: @tensorflow\/tfjs-node \(TensorFlow \d+\.\d+\.\d+ C API\), faster on CPU for this model size$/,
    );
    expect(tf.getBackend()).toBe("tensorflow");
  });

  // last: auto removes the CPU-only tensorflow backend, and a cached import cannot register it again
  it("with a CUDA GPU visible but TensorFlow on CPU only, removes it and takes wasm", async () => {
    expect(tensorflowInfo().gpu).toBe(false); // the tensorflow-cpu build places nothing on a GPU
    const choice = await selectBackend("auto", {}, probe(true, "wasm"));
    expect(choice.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.findBackendFactory("tensorflow")).toBeNull();
  });
});
