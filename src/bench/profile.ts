// Where a step's time goes: tf.profile over one T-Few training micro-batch and one 77-choice eval pass, kernel
// times summed by kernel name (the native OpenBLAS matMul shows as the BatchMatMul / _FusedMatMul it replaces).
// On a synchronous backend (wasm, cpu) a kernel's time is the wall time of its call, so the kernel times add up
// to about the wall time of the profiled call (the rest: JS between kernels, tape bookkeeping).
import { tf } from "../backend/tf.js";
import type { AdapterVectors, TrainedVectors } from "../adapters/trainable.js";
import type { T5Model } from "../model/t5.js";
import { batchNormalizers, makeBatch, type TfewExample } from "../engine/batch.js";
import { gradientTensors, type LossSettings } from "../engine/gradients.js";
import { rankBatch } from "../engine/rank.js";

export interface KernelRow {
  kernel: string;
  ms: number; // summed over calls
  calls: number;
  share: number; // of the profiled kernels' total time
}

export interface KernelProfile {
  what: string;
  wall_ms: number; // the profiled call, profiling overhead included
  kernel_ms: number; // Σ over every kernel
  top: KernelRow[];
}

/** The `top` kernels by summed time of everything `f` runs. */
export async function profileKernels(what: string, f: () => Promise<unknown>, top = 15): Promise<KernelProfile> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await f();
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number }>();
  const backend = tf.getBackend();
  for (const k of info.kernels) {
    // custom ops and gradient scopes are recorded too, their time including their kernels': only kernels count
    if (tf.getKernel(k.name, backend) === undefined) continue;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const row = byName.get(k.name) ?? { ms: 0, calls: 0 };
    row.ms += ms;
    row.calls += 1;
    byName.set(k.name, row);
  }
  const total = [...byName.values()].reduce((a, r) => a + r.ms, 0);
  const rows = [...byName.entries()]
    .map(([kernel, r]) => ({ kernel, ms: r.ms, calls: r.calls, share: total > 0 ? r.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  return { what, wall_ms: wall, kernel_ms: total, top: rows };
}

/** One training micro-batch (forward, loss, backward to the (IA)³ vectors), as the local engine runs it. */
export function profileTrainStep(
  model: T5Model,
  vectors: TrainedVectors,
  examples: readonly TfewExample[],
  settings: LossSettings,
): Promise<KernelProfile> {
  return profileKernels(`one training micro-batch of ${examples.length}`, async () => {
    const ids = { padId: model.config.padTokenId, decoderStartId: model.config.decoderStartTokenId };
    const t = gradientTensors(model, vectors, makeBatch(examples, ids), settings, batchNormalizers(examples));
    await t.summable.data();
    tf.dispose([t.summable, t.scores]);
  });
}

/** One eval batch of rank classification (every choice scored), as `tfew eval` runs it. */
export function profileEvalPass(
  model: T5Model,
  adapter: AdapterVectors | null,
  examples: readonly TfewExample[],
  options: { lengthNorm: number; choiceChunk: number },
): Promise<KernelProfile> {
  const choices = examples[0]?.choices.length ?? 0;
  return profileKernels(`one eval batch of ${examples.length} at ${choices} choices`, async () => {
    await rankBatch(model, adapter, examples, options);
  });
}

/** A profile as markdown table rows: kernel | ms | calls | share. */
export function profileTable(p: KernelProfile): string {
  const head = `${p.what}: ${p.kernel_ms.toFixed(0)} ms in kernels (${p.wall_ms.toFixed(0)} ms profiled wall)\n\n`;
  const rows = p.top.map((r) => `| ${r.kernel} | ${r.ms.toFixed(1)} | ${r.calls} | ${(100 * r.share).toFixed(1)} % |`);
  return `${head}| kernel | ms | calls | share |\n|---|---|---|---|\n${rows.join("\n")}\n`;
}
