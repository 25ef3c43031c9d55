// The model shapes `npm run bench:compare -- --shape NAME` runs, as HF config.json values (random weights of
// that shape are written once under bench-results/models/). t5-small and t5-base are the original T5 (ReLU
// FFN), untied like flan-t5 and the PyTorch reference; t5-large is flan-t5-large and t0-3b is T0_3B's shape.
import { T5_SMALL_SHAPE } from "./random-model.js";

export const BENCH_SHAPES = {
  "t5-small": T5_SMALL_SHAPE,
  "t5-base": { ...T5_SMALL_SHAPE, d_model: 768, num_heads: 12, d_ff: 3072, num_layers: 12, num_decoder_layers: 12 },
  "t5-large": {
    ...T5_SMALL_SHAPE,
    d_model: 1024,
    num_heads: 16,
    d_ff: 2816,
    num_layers: 24,
    num_decoder_layers: 24,
    feed_forward_proj: "gated-gelu",
  },
  "t0-3b": {
    ...T5_SMALL_SHAPE,
    d_model: 2048,
    num_heads: 32,
    d_ff: 5120,
    num_layers: 24,
    num_decoder_layers: 24,
    feed_forward_proj: "gated-gelu",
  },
} as const;

export type BenchShape = keyof typeof BENCH_SHAPES;

export function isBenchShape(name: string): name is BenchShape {
  return Object.hasOwn(BENCH_SHAPES, name);
}

/** scripts/torch_reference.py's flags for a shape (it builds the same random architecture itself). */
export function torchShapeArgs(name: BenchShape): string[] {
  const s = BENCH_SHAPES[name];
  return [
    ["--d-model", s.d_model],
    ["--d-kv", s.d_kv],
    ["--heads", s.num_heads],
    ["--d-ff", s.d_ff],
    ["--layers", s.num_layers],
    ["--decoder-layers", s.num_decoder_layers],
    ["--vocab", s.vocab_size],
    ["--ffn", s.feed_forward_proj === "gated-gelu" ? "gated-gelu" : "relu"],
  ].flatMap(([k, v]) => [String(k), String(v)]);
}

/** Parameters of a shape (embedding, untied head, attention, FFN, norms; the position-bias tables left out). */
export function shapeParameters(name: BenchShape): number {
  const s = BENCH_SHAPES[name];
  const inner = s.num_heads * s.d_kv;
  const ffn = (s.feed_forward_proj === "gated-gelu" ? 3 : 2) * s.d_model * s.d_ff;
  const attention = 4 * s.d_model * inner;
  const encoder = s.num_layers * (attention + ffn + 2 * s.d_model);
  const decoder = s.num_decoder_layers * (2 * attention + ffn + 3 * s.d_model);
  return 2 * s.vocab_size * s.d_model + encoder + decoder;
}
