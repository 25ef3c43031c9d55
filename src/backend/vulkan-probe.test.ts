import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { explainNoAdapter, icdSearchDirs, probeVulkanHost } from "./vulkan-probe.js";

const root = mkdtempSync(join(tmpdir(), "tfew-vulkan-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("icdSearchDirs", () => {
  it("follows the loader: XDG config, /etc, XDG data (defaults /usr/local/share, /usr/share)", () => {
    expect(icdSearchDirs({ HOME: "/h" })).toEqual([
      "/h/.config/vulkan/icd.d",
      "/etc/xdg/vulkan/icd.d",
      "/etc/vulkan/icd.d",
      "/h/.local/share/vulkan/icd.d",
      "/usr/local/share/vulkan/icd.d",
      "/usr/share/vulkan/icd.d",
    ]);
    expect(icdSearchDirs({ XDG_DATA_DIRS: "/a:/b", XDG_CONFIG_DIRS: "/c" })).toEqual([
      "/c/vulkan/icd.d",
      "/etc/vulkan/icd.d",
      "/a/vulkan/icd.d",
      "/b/vulkan/icd.d",
    ]);
  });
});

describe("probeVulkanHost", () => {
  it("finds a loader on LD_LIBRARY_PATH and ICD files in XDG_DATA_DIRS or VK_DRIVER_FILES", () => {
    const lib = join(root, "lib");
    const icd = join(root, "share", "vulkan", "icd.d");
    mkdirSync(lib, { recursive: true });
    mkdirSync(icd, { recursive: true });
    writeFileSync(join(lib, "libvulkan.so.1"), "");
    writeFileSync(join(icd, "nvidia_icd.json"), "{}");
    writeFileSync(join(icd, "README"), "");
    const host = probeVulkanHost({
      LD_LIBRARY_PATH: lib,
      XDG_DATA_DIRS: join(root, "share"),
      XDG_CONFIG_DIRS: join(root, "none"),
      HOME: root,
    });
    expect(host.loaders).toContain(join(lib, "libvulkan.so.1"));
    expect(host.icdFiles.filter((f) => f.startsWith(root))).toEqual([join(icd, "nvidia_icd.json")]);
    const explicit = probeVulkanHost({
      VK_DRIVER_FILES: `${join(icd, "nvidia_icd.json")}:${join(root, "missing.json")}`,
    });
    expect(explicit.icdFiles).toEqual([join(icd, "nvidia_icd.json")]);
  });
});

describe("explainNoAdapter", () => {
  it("names the missing loader first, then the missing driver, then a driver without a GPU", () => {
    expect(explainNoAdapter({ loaders: [], icdFiles: ["/x.json"], icdDirs: [] })).toMatch(
      /Vulkan loader \(libvulkan\.so\.1\) is not installed; apt-get install libvulkan1/,
    );
    expect(
      explainNoAdapter({ loaders: ["/l"], icdFiles: [], icdDirs: ["/etc/vulkan/icd.d", "/usr/share/vulkan/icd.d"] }),
    ).toMatch(
      /no Vulkan driver \(no ICD \.json in \/etc\/vulkan\/icd\.d, \/usr\/share\/vulkan\/icd\.d\).*NVIDIA_DRIVER_CAPABILITIES must include graphics.*VK_DRIVER_FILES/,
    );
    expect(
      explainNoAdapter({ loaders: ["/l"], icdFiles: ["/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"], icdDirs: [] }),
    ).toMatch(/driver lvp_icd\.x86_64\.json found but it reported no usable GPU/);
    for (const line of [explainNoAdapter({ loaders: [], icdFiles: [], icdDirs: [] })]) expect(line).not.toContain("\n");
  });
});
