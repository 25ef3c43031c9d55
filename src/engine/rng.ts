// Seeded, serializable randomness for data order (determinism and exact resume): a 32-bit mulberry32
// generator and epoch-wise shuffling whose only state is (epoch, position).

/** mulberry32: small, fast, good enough for shuffling; state is one uint32. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates permutation of 0..n-1 from a seed. */
export function permutation(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

export interface SamplerState {
  epoch: number; // epochs completed
  position: number; // next index into this epoch's permutation
}

/** Draws batches by walking seeded per-epoch permutations; batches may span an epoch boundary. */
export class EpochSampler {
  private order: number[];
  private state: SamplerState;
  constructor(
    private readonly size: number,
    private readonly seed: number,
    state: SamplerState = { epoch: 0, position: 0 },
  ) {
    if (size <= 0) throw new Error("EpochSampler: no examples");
    this.state = { ...state };
    this.order = permutation(size, this.epochSeed(state.epoch));
  }

  private epochSeed(epoch: number): number {
    return (Math.imul(this.seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  }

  next(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.state.position >= this.size) {
        this.state = { epoch: this.state.epoch + 1, position: 0 };
        this.order = permutation(this.size, this.epochSeed(this.state.epoch));
      }
      out.push(this.order[this.state.position] as number);
      this.state.position++;
    }
    return out;
  }

  snapshot(): SamplerState {
    return { ...this.state };
  }
}
