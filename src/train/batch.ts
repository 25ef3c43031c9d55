// T-Few batches: an example is an input, N answer choices and the gold index. Inputs are padded to the
// batch's longest (pad 0); every choice ends in </s> and is padded with 0 to the longest choice; decoder
// inputs are the choices shifted right with start token 0 (r-three/t-few EncoderDecoder.training_step).
import { shiftRight } from "../model/t5.js";

export interface TfewExample {
  inputIds: number[]; // prompt tokens, ending in </s>
  choices: number[][]; // each choice's tokens, ending in </s>
  label: number; // index of the correct choice (−1 when unknown: prediction)
}

export interface TfewBatch {
  size: number; // examples
  numChoices: number; // choices per example (the same for every example)
  srcLen: number; // padded input length
  tgtLen: number; // padded choice length
  inputIds: Int32Array; // [size, srcLen]
  attentionMask: Float32Array; // [size, srcLen] 1 = token, 0 = pad
  targets: Int32Array; // [size, numChoices, tgtLen] choice tokens, 0 = pad
  decoderInputIds: Int32Array; // [size, numChoices, tgtLen] targets shifted right
  labels: number[]; // [size]
}

export function makeBatch(examples: readonly TfewExample[], options: { padId: number; decoderStartId: number }): TfewBatch {
  const first = examples[0];
  if (first === undefined) throw new Error("makeBatch: no examples");
  const numChoices = first.choices.length;
  const srcLen = Math.max(...examples.map((e) => e.inputIds.length));
  const tgtLen = Math.max(...examples.flatMap((e) => e.choices.map((c) => c.length)));
  const size = examples.length;
  const inputIds = new Int32Array(size * srcLen).fill(options.padId);
  const attentionMask = new Float32Array(size * srcLen);
  const targets = new Int32Array(size * numChoices * tgtLen).fill(options.padId);
  examples.forEach((e, b) => {
    if (e.choices.length !== numChoices) throw new Error(`makeBatch: example ${b} has ${e.choices.length} choices, expected ${numChoices}`);
    inputIds.set(e.inputIds, b * srcLen);
    attentionMask.fill(1, b * srcLen, b * srcLen + e.inputIds.length);
    e.choices.forEach((c, j) => targets.set(c, (b * numChoices + j) * tgtLen));
  });
  return {
    size,
    numChoices,
    srcLen,
    tgtLen,
    inputIds,
    attentionMask,
    targets,
    decoderInputIds: shiftRight(targets, tgtLen, options.decoderStartId),
    labels: examples.map((e) => e.label),
  };
}

/** Splits a batch's examples into micro-batches of at most `size` examples. */
export function splitMicroBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
