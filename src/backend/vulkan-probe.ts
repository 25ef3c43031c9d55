// Says why Dawn found no WebGPU adapter on Linux: the Vulkan loader (libvulkan.so.1) missing, no driver
// (ICD manifest) for it, or a driver that found no GPU. Mirrors the Khronos loader's search (LoaderInterfaceArchitecture.md).
import { existsSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** What the host offers; every field is filled by `probeVulkanHost` or by a test. */
export interface VulkanHost {
  /** paths of libvulkan.so.1 that the dynamic linker would find (empty: none) */
  loaders: string[];
  /** ICD manifest files (*.json) the loader would read */
  icdFiles: string[];
  /** the folders searched for ICD manifests, in the loader's order (for the message) */
  icdDirs: string[];
}

const LIB = "libvulkan.so.1";
const LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
];

/** The loader's ICD search folders: XDG config dirs, /etc, XDG data dirs (default /usr/local/share:/usr/share). */
export function icdSearchDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? "";
  const config = [
    env.XDG_CONFIG_HOME ?? (home === "" ? "" : `${home}/.config`),
    ...(env.XDG_CONFIG_DIRS ?? "/etc/xdg").split(":"),
    "/etc",
  ];
  const data = [
    env.XDG_DATA_HOME ?? (home === "" ? "" : `${home}/.local/share`),
    ...(env.XDG_DATA_DIRS ?? "/usr/local/share:/usr/share").split(":"),
  ];
  return [...new Set([...config, ...data].filter((dir) => dir !== "").map((dir) => `${dir}/vulkan/icd.d`))];
}

/** Reads this host: LD_LIBRARY_PATH, the ldconfig cache and the usual lib folders; VK_DRIVER_FILES or the ICD folders. */
export function probeVulkanHost(env: NodeJS.ProcessEnv = process.env): VulkanHost {
  const libDirs = [...(env.LD_LIBRARY_PATH ?? "").split(":").filter((dir) => dir !== ""), ...LIB_DIRS];
  const loaders = [
    ...new Set([...libDirs.map((dir) => join(dir, LIB)).filter((path) => existsSync(path)), ...ldconfigLoaders()]),
  ];
  const icdDirs = icdSearchDirs(env);
  const explicit = (env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? "").split(":").filter((file) => file !== "");
  const icdFiles = explicit.length > 0 ? explicit.filter((file) => existsSync(file)) : icdDirs.flatMap(listJson);
  return { loaders, icdFiles, icdDirs: explicit.length > 0 ? explicit : icdDirs };
}

function ldconfigLoaders(): string[] {
  for (const ldconfig of ["/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    if (!existsSync(ldconfig)) continue;
    try {
      const text = execFileSync(ldconfig, ["-p"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 5000,
      });
      return text
        .split("\n")
        .filter((line) => line.trim().startsWith(`${LIB} `))
        .map((line) => line.split("=>").at(-1)?.trim() ?? "")
        .filter((p) => p !== "");
    } catch {
      return [];
    }
  }
  return [];
}

function listJson(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** One clause naming what is missing when Dawn returned no adapter. */
export function explainNoAdapter(host: VulkanHost): string {
  if (host.loaders.length === 0) {
    return `no WebGPU adapter: the Vulkan loader (${LIB}) is not installed; apt-get install libvulkan1 (or dnf install vulkan-loader), or use the tfew kit's bin/tfew, which carries one`;
  }
  if (host.icdFiles.length === 0) {
    return `no WebGPU adapter: Vulkan loader found but no Vulkan driver (no ICD .json in ${host.icdDirs.join(", ")}); install the GPU driver's Vulkan part (NVIDIA: nvidia_icd.json; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics) or point VK_DRIVER_FILES at it`;
  }
  const names = host.icdFiles.map((file) => file.split("/").at(-1)).join(", ");
  return `no WebGPU adapter: Vulkan driver ${names} found but it reported no usable GPU; check the driver (nvidia-smi; the Vulkan driver must match the kernel module's version) and, in containers, NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics`;
}
