// The sweep folder: sweep.json (the resolved cells and the sweep file's sha256, so a folder belongs to one
// sweep file) and cells/<index>-<slug>/ with each cell's config.yaml, run/, eval/, logs and state files.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { configToYaml, legacyConfigYaml } from "../config/load.js";
import { TfewError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { resolveCells, type ResolvedCell, type SweepCell } from "./cells.js";
import type { LoadedSweep, SweepFile } from "./schema.js";

export const SWEEP_JSON = "sweep.json";

/** What sweep.json holds. Cell folders are relative to the sweep folder, so the folder can be moved. */
export interface SweepPlan {
  tfew_sweep: 1;
  sweep_file: string;
  sweep_sha256: string;
  created_at: string;
  cwd: string; // where `sweep run` was started: cells run there (relative paths in the configs)
  engine: SweepFile["engine"];
  grid_keys: string[];
  eval: SweepFile["eval"];
  cells: SweepCell[];
}

/** The files of one cell folder. */
export interface CellPaths {
  dir: string;
  config: string; // the cell's resolved run config (tfew train --config)
  run: string; // the tfew train run folder
  eval: string; // the tfew eval output folder
  trainLog: string;
  evalLog: string;
  complete: string; // written last, atomically: the cell's outputs are all there
  failed: string; // the last failure: stage, exit code, last error line, log
  lock: string; // held while the cell runs: host and pid
}

export function cellPaths(sweepDir: string, cell: SweepCell): CellPaths {
  const dir = join(sweepDir, cell.dir);
  const at = (name: string) => join(dir, name);
  return {
    dir,
    config: at("config.yaml"),
    run: at("run"),
    eval: at("eval"),
    trainLog: at("train.log"),
    evalLog: at("eval.log"),
    complete: at("complete.json"),
    failed: at("failed.json"),
    lock: at("lock.json"),
  };
}

/**
 * Creates the sweep folder for a sweep file, or checks an existing one was made from the same file (and the
 * same resolved configs); refuses a folder of another sweep file or a non-empty folder that is no sweep.
 */
export async function prepareSweepDir(
  dir: string,
  loaded: LoadedSweep,
  options: { cwd: string; warn?: (line: string) => void },
): Promise<{ plan: SweepPlan; cells: ResolvedCell[] }> {
  const full = resolve(options.cwd, dir);
  const existing = existsSync(join(full, SWEEP_JSON)) ? await readPlan(full) : null;
  if (existing !== null && existing.sweep_sha256 !== loaded.sha256) {
    throw new TfewError(
      `${dir} holds a sweep made from another sweep file (${existing.sweep_file}, sha256 ${existing.sweep_sha256.slice(0, 12)}; ${loaded.file} is ${loaded.sha256.slice(0, 12)}); choose a new --out`,
    );
  }
  // A rerun resolves relative paths where the sweep was first run.
  const cells = resolveCells(loaded, { cwd: existing?.cwd ?? options.cwd, warn: options.warn });
  let plan: SweepPlan;
  if (existing !== null) {
    plan = existing;
  } else {
    const entries = await readdir(full).catch(() => [] as string[]);
    if (entries.length > 0)
      throw new TfewError(`${dir} is not empty and holds no ${SWEEP_JSON}; choose a new or empty --out folder`);
    await makeDir(full);
    plan = {
      tfew_sweep: 1,
      sweep_file: resolve(options.cwd, loaded.file),
      sweep_sha256: loaded.sha256,
      created_at: new Date().toISOString(),
      cwd: resolve(options.cwd),
      engine: loaded.sweep.engine,
      grid_keys: Object.keys(loaded.sweep.grid),
      eval: loaded.sweep.eval,
      cells: cells.map(({ config: _config, ...cell }) => cell),
    };
    await writeJsonAtomic(join(full, SWEEP_JSON), plan);
  }
  for (const cell of cells) {
    const paths = cellPaths(full, cell);
    const text = configToYaml(cell.config);
    if (!existsSync(paths.config)) {
      await makeDir(paths.dir);
      await writeFileAtomic(paths.config, text);
    } else if (![text, legacyConfigYaml(cell.config)].includes(await readFile(paths.config, "utf8"))) {
      // (a sweep folder of an older tfew holds train.workers: the same config)
      throw new TfewError(
        `${dir}: the config of cell ${cell.index} (${cell.dir}) differs from what ${loaded.file} resolves to now (a base config file changed?); choose a new --out`,
      );
    }
  }
  return { plan, cells };
}

/** Reads DIR/sweep.json; one line when DIR is not a sweep folder. */
export async function readPlan(dir: string): Promise<SweepPlan> {
  const file = join(dir, SWEEP_JSON);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new TfewError(
      `${dir} is not a sweep folder (no ${SWEEP_JSON}); make one with tfew sweep run SWEEP.yaml --out ${dir}`,
    );
  }
  let plan: SweepPlan;
  try {
    plan = JSON.parse(text) as SweepPlan;
  } catch {
    throw new TfewError(
      `${file} is not valid JSON; it was not written by tfew sweep run (or was edited); make a new sweep folder`,
    );
  }
  if (plan.tfew_sweep !== 1 || !Array.isArray(plan.cells)) {
    throw new TfewError(
      `${file} is not a tfew sweep description (no tfew_sweep: 1 or no cells); make a new sweep folder`,
    );
  }
  return plan;
}

/** The cell with index `index`; one line naming the valid range otherwise. */
export function cellAt(plan: SweepPlan, index: number): SweepCell {
  const cell = Number.isInteger(index) ? plan.cells[index] : undefined;
  if (cell === undefined || cell.index !== index) {
    throw new TfewError(`cell ${index} is not in this sweep; cells are 0 to ${plan.cells.length - 1}`);
  }
  return cell;
}

export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new TfewError(
      `cannot create folder ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose a writable --out`,
    );
  }
}
