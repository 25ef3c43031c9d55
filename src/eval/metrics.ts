// Classification metrics: accuracy, per-class precision/recall/F1, confusion matrix, and RAFT's macro-F1, which is
// sklearn `f1_score(gold, pred, average="macro")` (zero_division=0; averaged over the labels in gold ∪ predicted).
import { TfewError } from "../errors.js";

export interface ClassMetrics {
  label: string;
  /** tp / (tp + fp); 0 when the class is never predicted. */
  precision: number;
  /** tp / (tp + fn); 0 when the class never occurs in gold. */
  recall: number;
  /** 2·P·R / (P + R); 0 when P + R = 0. */
  f1: number;
  /** Number of gold examples of this class. */
  support: number;
}

export interface ClassificationMetrics {
  n: number;
  accuracy: number;
  /** Mean F1 over the classes that occur in gold or in predicted (sklearn's default label set). */
  macro_f1: number;
  /** One entry per label name, in label order (classes in neither gold nor predicted have all zeros). */
  per_class: ClassMetrics[];
  /** confusion[gold][pred] = count. */
  confusion: number[][];
}

function checkIndices(values: number[], what: string, numLabels: number): void {
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= numLabels) {
      throw new TfewError(
        `${what}[${i}] = ${v} is not a label index in 0..${numLabels - 1}; pass indices into labelNames`,
      );
    }
  });
}

export function classificationMetrics(
  gold: number[],
  predicted: number[],
  labelNames: string[],
): ClassificationMetrics {
  if (gold.length === 0)
    throw new TfewError("classificationMetrics got no examples; evaluate at least one labeled example");
  if (gold.length !== predicted.length) {
    throw new TfewError(
      `classificationMetrics got ${gold.length} gold labels but ${predicted.length} predictions; pass one prediction per example`,
    );
  }
  if (labelNames.length === 0)
    throw new TfewError("classificationMetrics got an empty label list; pass the task's label names");
  const k = labelNames.length;
  checkIndices(gold, "gold", k);
  checkIndices(predicted, "predicted", k);

  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  gold.forEach((g, i) => {
    const p = predicted[i] ?? 0;
    (confusion[g] as number[])[p] = ((confusion[g] as number[])[p] ?? 0) + 1;
    if (g === p) correct += 1;
  });

  const perClass = labelNames.map((label, c): ClassMetrics & { present: boolean } => {
    const tp = confusion[c]?.[c] ?? 0;
    const support = confusion[c]?.reduce((a, b) => a + b, 0) ?? 0; // row sum: gold == c
    const predictedCount = confusion.reduce((a, row) => a + (row[c] ?? 0), 0); // column sum: pred == c
    const precision = predictedCount === 0 ? 0 : tp / predictedCount;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support, present: support > 0 || predictedCount > 0 };
  });
  const present = perClass.filter((m) => m.present);
  const macroF1 = present.reduce((a, m) => a + m.f1, 0) / present.length; // present is non-empty since n >= 1

  return {
    n: gold.length,
    accuracy: correct / gold.length,
    macro_f1: macroF1,
    per_class: perClass.map(({ label, precision, recall, f1, support }) => ({ label, precision, recall, f1, support })),
    confusion,
  };
}
