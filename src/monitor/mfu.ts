// FLOPs of one T5 step counted from its matmuls, GPU peak FLOP/s, and model FLOPs utilization (MFU).
// Mirrors nanoGPT's estimate_mfu and the PaLM paper's MFU (appendix B): achieved model FLOP/s ÷ peak FLOP/s.
import { TfewError } from "../errors.js";

/** T5 dimensions, as in HF's T5Config (d_model, d_kv, num_heads, d_ff, num_layers, num_decoder_layers, vocab_size). */
export interface T5FlopDims {
  dModel: number;
  dKv: number;
  numHeads: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  vocabSize: number;
  /** T5 v1.1 / flan-t5 gated-GELU FFN (wi_0, wi_1, wo: 3 matmuls) instead of ReLU (wi, wo: 2 matmuls). */
  gatedFfn: boolean;
}

/** Positions one step pushes through the model. Count padding: tfjs computes it. */
export interface T5StepTokens {
  /** Encoder positions in the step: Σ over the batch of the (padded) encoder length. */
  encoderTokens: number;
  /** Decoder positions in the step, summed over all answer choices of every example. */
  decoderTokens: number;
  /** Keys each encoder position attends to (the padded encoder length; attention is computed in full). */
  encoderLength: number;
  /** Keys each decoder position attends to in self-attention (padded decoder length; the causal mask skips nothing). */
  decoderLength: number;
  /** Encoder positions whose cross-attention K and V are projected: encoderTokens when all choices share the
   * encoder output (default), encoderTokens × choices when the encoder output is tiled per choice. */
  crossKvTokens?: number;
}

/**
 * Forward FLOPs = 2 × multiply-accumulates (MACs) of every matmul; norms, softmax, position bias, residuals
 * and the embedding gather are not counted (< 1 % at T5 sizes). With inner = numHeads·dKv, E = encoderTokens,
 * D = decoderTokens, X = crossKvTokens, Le / Ld = encoder / decoder length, k = 3 if gatedFfn else 2:
 *
 *   encoder layer:  E·4·dModel·inner            Q, K, V, O projections
 *                 + E·2·Le·inner                scores QKᵀ and weighted sum AV
 *                 + E·k·dModel·dFf              FFN
 *   decoder layer:  D·4·dModel·inner + D·2·Ld·inner             self-attention
 *                 + D·2·dModel·inner + X·2·dModel·inner         cross-attention Q, O (decoder) and K, V (encoder side)
 *                 + D·2·Le·inner                                cross-attention scores and weighted sum
 *                 + D·k·dModel·dFf                              FFN
 *   LM head:        D·dModel·vocabSize
 *
 *   forward = 2 · (numLayers·encoder layer + numDecoderLayers·decoder layer + LM head)
 */
export function t5ForwardFlops(dims: T5FlopDims, tokens: T5StepTokens): number {
  // Only the fields used here: callers may pass a whole T5 config (modelType, layerNormEpsilon, ...).
  const { dModel, dKv, numHeads, dFf, numLayers, numDecoderLayers, vocabSize } = dims;
  checkCounts({ dModel, dKv, numHeads, dFf, numLayers, numDecoderLayers, vocabSize }, "model dims");
  const { encoderTokens: E, decoderTokens: D, encoderLength: Le, decoderLength: Ld, crossKvTokens } = tokens;
  checkCounts(
    { encoderTokens: E, decoderTokens: D, encoderLength: Le, decoderLength: Ld, crossKvTokens },
    "step tokens",
  );
  const inner = numHeads * dKv;
  const k = dims.gatedFfn ? 3 : 2;
  const X = crossKvTokens ?? E;
  const encoderLayer = E * 4 * dModel * inner + E * 2 * Le * inner + E * k * dModel * dFf;
  const decoderLayer =
    D * 4 * dModel * inner +
    D * 2 * Ld * inner +
    D * 2 * dModel * inner +
    X * 2 * dModel * inner +
    D * 2 * Le * inner +
    D * k * dModel * dFf;
  const lmHead = D * dModel * vocabSize;
  return 2 * (numLayers * encoderLayer + numDecoderLayers * decoderLayer + lmHead);
}

/**
 * FLOPs of one step. (IA)³ training ≈ 2 × forward: the weights are frozen, so the tape skips every weight-
 * gradient matmul and only the activation gradients flow back (one matmul per forward matmul). This is the
 * work the step really needs; the usual 3 × forward (nanoGPT's 6N per token) would count weight gradients
 * that are never computed and inflate MFU by 1.5×. Slightly low: the attention score / weighted-sum matmuls
 * need both operand gradients.
 */
export function t5StepFlops(dims: T5FlopDims, tokens: T5StepTokens, options: { training: boolean }): number {
  const forward = t5ForwardFlops(dims, tokens);
  return options.training ? 2 * forward : forward;
}

/** Dense (no sparsity) peak FLOP/s, from NVIDIA datasheets. fp32: CUDA cores; tf32: tensor cores. */
interface PeakEntry {
  pattern: RegExp;
  label: string;
  fp32Tflops: number;
  tf32Tflops?: number;
}

// First match wins: specific variants come before the family. Names are as nvidia-smi prints them
// ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA A100-SXM4-80GB", "Tesla V100-SXM2-16GB", ...).
export const GPU_PEAK_TABLE: readonly PeakEntry[] = [
  { pattern: /\bH100\b.*\bPCIe\b/i, label: "H100 PCIe", fp32Tflops: 51, tf32Tflops: 378 },
  { pattern: /\bH100\b(?!.*\bNVL\b)/i, label: "H100 SXM", fp32Tflops: 67, tf32Tflops: 494.7 },
  { pattern: /\bH200\b(?!.*\bNVL\b)/i, label: "H200", fp32Tflops: 67, tf32Tflops: 494.7 },
  { pattern: /\bA100\b/i, label: "A100", fp32Tflops: 19.5, tf32Tflops: 156 },
  { pattern: /\bV100\b.*\bPCIE\b/i, label: "V100 PCIe", fp32Tflops: 14 },
  { pattern: /\bV100\b/i, label: "V100 SXM2", fp32Tflops: 15.7 },
  { pattern: /\bT4\b/i, label: "T4", fp32Tflops: 8.1 },
  { pattern: /\bA10G\b/i, label: "A10G", fp32Tflops: 31.2 },
  { pattern: /\bL4\b/i, label: "L4", fp32Tflops: 30.3 },
  { pattern: /\bRTX 4090\b(?!\s*(D|Laptop))/i, label: "RTX 4090", fp32Tflops: 82.6 },
  { pattern: /\bRTX 3090\b(?!\s*Ti)/i, label: "RTX 3090", fp32Tflops: 35.6 },
];

/**
 * Dense peak FLOP/s of a GPU by its nvidia-smi name; null when unknown (set monitor.peak_tflops).
 * FP32 by default: tfjs computes in float32. Caveat: libtensorflow (tfjs-node-gpu) enables TF32 tensor-core
 * matmuls by default on Ampere and newer, so on A100/H100 an FP32-based MFU can exceed 1; pass
 * precision "tf32" for the tensor-core bound where the table has it.
 */
export function peakFlopsForGpu(name: string, options: { precision?: "fp32" | "tf32" } = {}): number | null {
  const entry = GPU_PEAK_TABLE.find((candidate) => candidate.pattern.test(name));
  if (entry === undefined) return null;
  const tflops = options.precision === "tf32" ? entry.tf32Tflops : entry.fp32Tflops;
  return tflops === undefined ? null : tflops * 1e12;
}

/** The peak MFU divides by: monitor.peak_tflops when set (wins), else the table's FP32 value, else null. */
export function resolvePeakFlops(options: { gpuName: string | null; peakTflops?: number | null }): number | null {
  if (options.peakTflops !== undefined && options.peakTflops !== null) {
    if (!(options.peakTflops > 0)) {
      throw new TfewError(
        `monitor.peak_tflops = ${options.peakTflops} is invalid; give the GPU's dense peak in TFLOP/s (> 0)`,
      );
    }
    return options.peakTflops * 1e12;
  }
  return options.gpuName === null ? null : peakFlopsForGpu(options.gpuName);
}

/** Model FLOPs utilization: flopsPerStep / secondsPerStep / peakFlops (a fraction, 0.42 = 42 %). */
export function mfu(flopsPerStep: number, secondsPerStep: number, peakFlops: number): number {
  if (!(flopsPerStep >= 0 && Number.isFinite(flopsPerStep)) || !(secondsPerStep > 0) || !(peakFlops > 0)) {
    throw new TfewError(
      `mfu(flops=${flopsPerStep}, s/step=${secondsPerStep}, peak=${peakFlops}) needs finite flops >= 0 and positive time and peak`,
    );
  }
  return flopsPerStep / secondsPerStep / peakFlops;
}

function checkCounts(values: Record<string, number | undefined>, what: string): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw new TfewError(`${what}: ${key} = ${value} is invalid; expected an integer >= 0`);
    }
  }
}
