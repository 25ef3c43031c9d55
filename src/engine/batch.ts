// T-Few batches: an example is an input, N answer choices and the gold index. Inputs are padded to the
// batch's longest with the model's pad id; every choice ends in </s> and is padded to the longest choice;
// examples of different tasks may have different choice counts, padded to the batch's most with all-pad
// choices. Which positions and which choices are real are explicit masks (never inferred from ids). Decoder
// inputs are the choices shifted right with the decoder start token (r-three/t-few EncoderDecoder.training_step).
import { shiftRight } from "../model/t5.js";
import type { LossNormalizers } from "./losses.js";

export interface TfewExample {
  inputIds: number[]; // prompt tokens, ending in </s>
  choices: number[][]; // each choice's tokens, ending in </s>
  label: number; // index of the correct choice (−1 when unknown: prediction)
  task?: number; // multi-task runs: index of the example's task (its vector set); absent = 0
}

export interface TfewBatch {
  size: number; // examples
  numChoices: number; // choices per example: the most of any example (the others padded, see choiceMask)
  srcLen: number; // padded input length
  tgtLen: number; // padded choice length
  inputIds: Int32Array; // [size, srcLen]
  attentionMask: Float32Array; // [size, srcLen] 1 = token, 0 = pad
  targets: Int32Array; // [size, numChoices, tgtLen] choice tokens, pad id at padding
  targetMask: Float32Array; // [size, numChoices, tgtLen] 1 = real choice token (incl. </s>), 0 = pad
  decoderInputIds: Int32Array; // [size, numChoices, tgtLen] targets shifted right
  choiceMask: Float32Array; // [size, numChoices] 1 = one of the example's own choices, 0 = padding
  labels: number[]; // [size]
  tasks: number[] | null; // [size] task index of each example (multi-task runs); null = examples carry none
}

export interface PadIds {
  padId: number; // config.json pad_token_id
  decoderStartId: number; // config.json decoder_start_token_id
}

/**
 * Pads a list of choice lists ([example][choice] token ids) into targets, masks and decoder inputs: every
 * example gets `count` choices (default: the most of any), the missing ones all padding (choiceMask 0).
 */
export function padChoices(
  choiceLists: readonly (readonly number[][])[],
  ids: PadIds,
  count = Math.max(...choiceLists.map((cs) => cs.length)),
): {
  tgtLen: number;
  targets: Int32Array;
  targetMask: Float32Array;
  decoderInputIds: Int32Array;
  choiceMask: Float32Array;
} {
  const tgtLen = Math.max(1, ...choiceLists.flatMap((cs) => cs.map((c) => c.length)));
  const targets = new Int32Array(choiceLists.length * count * tgtLen).fill(ids.padId);
  const targetMask = new Float32Array(targets.length);
  const choiceMask = new Float32Array(choiceLists.length * count);
  choiceLists.forEach((cs, b) =>
    cs.forEach((c, j) => {
      targets.set(c, (b * count + j) * tgtLen);
      targetMask.fill(1, (b * count + j) * tgtLen, (b * count + j) * tgtLen + c.length);
      choiceMask[b * count + j] = 1;
    }),
  );
  return { tgtLen, targets, targetMask, choiceMask, decoderInputIds: shiftRight(targets, tgtLen, ids.decoderStartId) };
}

/** Pads prompts into input ids [size, srcLen] and their 0/1 attention mask. */
export function padInputs(
  prompts: readonly number[][],
  padId: number,
): { srcLen: number; inputIds: Int32Array; attentionMask: Float32Array } {
  const srcLen = Math.max(...prompts.map((p) => p.length));
  const inputIds = new Int32Array(prompts.length * srcLen).fill(padId);
  const attentionMask = new Float32Array(prompts.length * srcLen);
  prompts.forEach((p, b) => {
    inputIds.set(p, b * srcLen);
    attentionMask.fill(1, b * srcLen, b * srcLen + p.length);
  });
  return { srcLen, inputIds, attentionMask };
}

export function makeBatch(examples: readonly TfewExample[], ids: PadIds): TfewBatch {
  const first = examples[0];
  if (first === undefined) throw new Error("makeBatch: no examples");
  const numChoices = Math.max(...examples.map((e) => e.choices.length));
  return {
    size: examples.length,
    numChoices,
    ...padInputs(
      examples.map((e) => e.inputIds),
      ids.padId,
    ),
    ...padChoices(
      examples.map((e) => e.choices),
      ids,
    ),
    labels: examples.map((e) => e.label),
    tasks: examples.some((e) => e.task !== undefined) ? examples.map((e) => e.task ?? 0) : null,
  };
}

/**
 * The loss normalizers of a whole optimizer batch, from token counts alone (before any forward pass): every
 * micro-batch divides its sums by these, so micro-batch and worker splits never change the objective.
 */
export function batchNormalizers(examples: readonly TfewExample[]): LossNormalizers {
  let lmTokens = 0;
  let ulTokens = 0;
  let longest = 1;
  for (const e of examples) {
    e.choices.forEach((c, j) => {
      if (j === e.label) lmTokens += c.length;
      else ulTokens += c.length;
      longest = Math.max(longest, c.length);
    });
  }
  const positions = examples.reduce((n, e) => n + e.choices.length, 0) * longest;
  return { lmTokens, ulTokens, ulMasked: positions - ulTokens, examples: examples.length };
}

/** Splits a batch's examples into micro-batches of at most `size` examples. */
export function splitMicroBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Padded positions of each forward pass of a step (for FLOP counts): one entry per micro-batch. */
export function passTokens(
  examples: readonly TfewExample[],
  microBatchSize: number,
): { encoderTokens: number; decoderTokens: number; encoderLength: number; decoderLength: number }[] {
  return splitMicroBatches(examples, microBatchSize).map((micro) => {
    const srcLen = Math.max(...micro.map((e) => e.inputIds.length));
    const tgtLen = Math.max(...micro.flatMap((e) => e.choices.map((c) => c.length)));
    const choices = micro.length * Math.max(...micro.map((e) => e.choices.length)); // padded choices run too
    return {
      encoderTokens: micro.length * srcLen,
      decoderTokens: choices * tgtLen,
      encoderLength: srcLen,
      decoderLength: tgtLen,
    };
  });
}
