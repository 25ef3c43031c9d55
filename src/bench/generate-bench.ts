// bench:generate: greedy and beam-4 tokens/s of tfew's generate (src/generate) at the T5-small shape, against
// transformers' generate (scripts/hf_generate_bench.py, the pip venv's torch) on the same random weights and input
// ids in one run. Both decode exactly `newTokens` tokens per input (min = max new tokens); tokens/s counts output
// tokens per input (batch × new tokens), not beams; two warm-up runs of 2 tokens, then the median of `reps` timed
// runs, on each side.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../backend/select.js";
import { mulberry32 } from "../engine/rng.js";
import { generate, type GenerateSettings } from "../generate/generate.js";
import { loadT5 } from "../model/load.js";
import { findTorchSides } from "./torch-side.js";
import { defaultConfig } from "../config/load.js";
import { generateSettings } from "../generate/settings.js";

export interface GenerateBenchOptions {
  root: string;
  modelDir: string;
  backend: string;
  batch: number;
  srcLen: number;
  newTokens: number;
  reps: number;
  torch: boolean;
  log: (line: string) => void;
}

interface SideResult {
  seconds: number;
  tokens_per_s: number;
}

export interface GenerateBenchResult {
  shape: string;
  tfew: Record<"greedy" | "beam4", SideResult>;
  transformers: (Record<"greedy" | "beam4", SideResult> & { label: string; greedy_ids_equal: boolean }) | null;
}

/** transformers' generate defaults (the config's generate: section) with exactly `newTokens` new tokens. */
const settingsFor = (beams: number, newTokens: number, batch: number): GenerateSettings => ({
  ...generateSettings(defaultConfig()),
  strategy: beams > 1 ? "beam" : "greedy",
  maxNewTokens: newTokens,
  minNewTokens: newTokens,
  numBeams: beams,
  seed: 0,
  batchSize: batch,
});

/** Seeded prompts of `srcLen` ids (within the demo tokenizer's range), each ending in </s> (id 1). */
function prompts(batch: number, srcLen: number): number[][] {
  const rand = mulberry32(7);
  return Array.from({ length: batch }, () => [
    ...Array.from({ length: srcLen - 1 }, () => 3 + Math.floor(rand() * 300)),
    1,
  ]);
}

export async function runGenerateBench(o: GenerateBenchOptions): Promise<GenerateBenchResult> {
  const inputs = prompts(o.batch, o.srcLen);
  const tokens = o.batch * o.newTokens;
  // transformers first: with tfew's backend started in this process, the python child measured 16× slower
  // (2.1 s against 0.13 s standalone for the same 4-token greedy run on 2 cores)
  const hf = o.torch ? await transformersSide(o, inputs) : null;
  const model = await loadT5(o.modelDir, await selectBackend(o.backend as "wasm"));
  const tfew = {} as GenerateBenchResult["tfew"];
  let greedyIds: number[][] = [];
  for (const [name, beams] of [
    ["greedy", 1],
    ["beam4", 4],
  ] as const) {
    for (let i = 0; i < 2; i++) await generate(model, null, inputs, settingsFor(beams, 2, o.batch)); // warm-up
    const times: number[] = [];
    for (let rep = 0; rep < o.reps; rep++) {
      const t0 = performance.now();
      const { generations } = await generate(model, null, inputs, settingsFor(beams, o.newTokens, o.batch));
      times.push((performance.now() - t0) / 1000);
      if (name === "greedy" && rep === 0) greedyIds = generations.map((g) => g.candidates[0]?.ids ?? []);
    }
    const seconds = median(times);
    tfew[name] = { seconds, tokens_per_s: tokens / seconds };
    o.log(`tfew ${name} (${o.backend}): ${(tokens / seconds).toFixed(1)} tokens/s (${seconds.toFixed(2)} s)`);
  }
  const shape = `T5-small shape, batch ${o.batch} × ${o.srcLen} input tokens, ${o.newTokens} new tokens`;
  if (hf === null) return { shape, tfew, transformers: null };
  const rate = (s: { seconds: number }) => ({ seconds: s.seconds, tokens_per_s: tokens / s.seconds });
  for (const name of ["greedy", "beam4"] as const)
    o.log(
      `transformers ${name}: ${rate(hf[name]).tokens_per_s.toFixed(1)} tokens/s (${hf[name].seconds.toFixed(2)} s)`,
    );
  // both decode exactly newTokens tokens (min = max), so the greedy ids compare one to one
  const equal = greedyIds.every((ids, i) => JSON.stringify(ids) === JSON.stringify(hf.greedy.ids[i]));
  const label = `transformers ${hf.transformers}, torch ${hf.torch} (${hf.python})`;
  const transformers = { label, greedy: rate(hf.greedy), beam4: rate(hf.beam4), greedy_ids_equal: equal };
  return { shape, tfew, transformers };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

type HfRun = Record<"greedy" | "beam4", { seconds: number; ids: number[][] }> & {
  transformers: string;
  torch: string;
  python: string;
};

/** scripts/hf_generate_bench.py's result under the pip venv's python, or null (with the reason logged). */
async function transformersSide(o: GenerateBenchOptions, inputs: number[][]): Promise<HfRun | null> {
  const side = findTorchSides(o.root, [], o.log)[0];
  if (side === undefined) {
    o.log("transformers: no python with torch found (scripts/python-venv.sh); tfew's side only");
    return null;
  }
  const inputsFile = join(o.root, "bench-results", "generate-inputs.json");
  await writeFile(inputsFile, JSON.stringify(inputs));
  const script = join(o.root, "scripts", "hf_generate_bench.py");
  const args = [script, "--model", o.modelDir, "--inputs", inputsFile, "--new-tokens", String(o.newTokens)];
  const more = ["--threads", String(cpus().length), "--reps", String(o.reps)];
  const r = spawnSync(side.python, [...args, ...more], { encoding: "utf8", env: side.env });
  if (r.status !== 0) {
    o.log(`transformers: ${script} exited ${r.status}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
    return null;
  }
  return { ...(JSON.parse(r.stdout) as Omit<HfRun, "python">), python: side.python };
}

/** The printed table: tokens/s per side and tfew / transformers. */
export function generateBenchTable(r: GenerateBenchResult): string {
  const lines = [`generate, ${r.shape}`, "| strategy | tfew tokens/s | transformers tokens/s | tfew / transformers |"];
  lines.push("|---|---|---|---|");
  for (const name of ["greedy", "beam4"] as const) {
    const hf = r.transformers?.[name];
    const ratio = hf ? (r.tfew[name].tokens_per_s / hf.tokens_per_s).toFixed(2) : "n/a";
    lines.push(
      `| ${name} | ${r.tfew[name].tokens_per_s.toFixed(1)} | ${hf ? hf.tokens_per_s.toFixed(1) : "n/a"} | ${ratio} |`,
    );
  }
  if (r.transformers)
    lines.push(`transformers: ${r.transformers.label}; greedy ids equal: ${r.transformers.greedy_ids_equal}`);
  return `${lines.join("\n")}\n`;
}
