// The PyTorch side of bench:compare: scripts/torch_reference.py (the same T-Few math in plain PyTorch) under
// each Python that has torch: the pip venv's current torch (scripts/python-venv.sh; --python or
// TFEW_TORCH_PYTHON name another) and Debian's python3-torch when present, each with both algorithms.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

export interface TorchSide {
  label: string; // "PyTorch 2.13.0 (pip venv)"
  python: string;
  env: NodeJS.ProcessEnv;
}

function torchVersion(python: string, env: NodeJS.ProcessEnv): string | null {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", env });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

/**
 * Debian's torch calls BLAS from its own OpenMP threads, so it gets the OpenMP build of OpenBLAS (libblas.so.3
 * from openblas-openmp) even where the pthread build is the system default; with the pthread build the two
 * thread pools oversubscribe 2 cores (measured: 4.00 vs 1.41 s/step).
 */
function debianTorchEnv(): NodeJS.ProcessEnv {
  const openmp = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  if (!existsSync(join(openmp, "libblas.so.3"))) return process.env;
  return { ...process.env, LD_LIBRARY_PATH: [openmp, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
}

/** The pip venv's python (made once by scripts/python-venv.sh, the interop suite's venv), or null with the reason logged. */
function venvPython(root: string, log: (line: string) => void): string | null {
  const script = join(root, "scripts", "python-venv.sh");
  if (!existsSync(script)) return null;
  const r = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) {
    log(`PyTorch (pip): scripts/python-venv.sh exited ${r.status}; no pip column`);
    return null;
  }
  const python = join(r.stdout.trim().split("\n").at(-1) ?? "", "bin", "python");
  return existsSync(python) ? python : null;
}

/** Every PyTorch this machine has for the comparison, the pip one first. */
export function findTorchSides(root: string, pythons: readonly string[], log: (line: string) => void): TorchSide[] {
  const sides: TorchSide[] = [];
  const given = [...pythons, ...(process.env.TFEW_TORCH_PYTHON ? [process.env.TFEW_TORCH_PYTHON] : [])];
  const pip = given.length > 0 ? given : [venvPython(root, log)].filter((p): p is string => p !== null);
  for (const python of pip) {
    const version = torchVersion(python, process.env);
    if (version) sides.push({ label: `PyTorch ${version} (${python})`, python, env: process.env });
    else log(`PyTorch: ${python} has no torch; left out`);
  }
  const debian = debianTorchEnv();
  const system = torchVersion("/usr/bin/python3", debian);
  if (system)
    sides.push({ label: `PyTorch ${system} (Debian python3-torch)`, python: "/usr/bin/python3", env: debian });
  return sides;
}

export interface TorchRunOptions {
  root: string;
  batch: number;
  trainSteps: number;
  examplesFile: string; // tfew's examples (same prompts, choices and counts on both sides)
  evalBatch: number;
  shapeArgs: string[];
  log: (line: string) => void;
}

/** scripts/torch_reference.py's JSON result for one side and algorithm. */
export function runTorch(side: TorchSide, algorithm: "t-few" | "same", o: TorchRunOptions): Record<string, unknown> {
  const what = algorithm === "same" ? "tfew's algorithm: cross-attention K/V once per example" : "t-few's algorithm";
  o.log(`${side.label}, ${what}: scripts/torch_reference.py …`);
  const args = [
    join(o.root, "scripts", "torch_reference.py"),
    "--json",
    ...["--threads", String(cpus().length), "--batch", String(o.batch), "--train-steps", String(o.trainSteps)],
    ...["--warmup", "1", "--examples", o.examplesFile, "--eval-batch", String(o.evalBatch), "--untie"],
    ...o.shapeArgs,
    ...(algorithm === "same" ? ["--share-cross-kv"] : []),
  ];
  const r = spawnSync(side.python, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
    env: side.env,
  });
  if (r.status !== 0)
    throw new Error(`scripts/torch_reference.py under ${side.python} failed with exit code ${r.status}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
}
