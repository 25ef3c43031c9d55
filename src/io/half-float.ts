// Rounding numbers (float64) to IEEE binary16 and bfloat16, round-to-nearest-even in ONE step (no detour
// through float32, so no double rounding), and their 16-bit patterns for safetensors F16 / BF16 tensors.

interface HalfFormat {
  mantissaBits: number; // stored fraction bits
  minExponent: number; // exponent of the smallest normal number
  maxFinite: number; // largest finite value
}

const FLOAT16: HalfFormat = { mantissaBits: 10, minExponent: -14, maxFinite: 65504 };
const BFLOAT16: HalfFormat = { mantissaBits: 7, minExponent: -126, maxFinite: (2 - 2 ** -7) * 2 ** 127 };

/** floor(log2 a) for finite a > 0, exact (Math.log2 can be off by one near powers of two). */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  return e;
}

/** x rounded to the format's grid (ties to even); beyond the largest finite value: ±Infinity. */
function roundTo(x: number, f: HalfFormat): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const quantum = 2 ** (Math.max(exponentOf(a), f.minExponent) - f.mantissaBits); // spacing of the grid around a
  const y = a / quantum; // exact: division by a power of two
  const floor = Math.floor(y);
  const rest = y - floor;
  const n = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const r = n * quantum;
  return Math.sign(x) * (r > f.maxFinite ? Infinity : r);
}

export function roundToFloat16(x: number): number {
  return roundTo(x, FLOAT16);
}

export function roundToBfloat16(x: number): number {
  return roundTo(x, BFLOAT16);
}

/** binary16 bits of a value already on the float16 grid. */
function float16BitsOf(r: number): number {
  if (Number.isNaN(r)) return 0x7e00;
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | (a / 2 ** -24); // zero or subnormal: an integer multiple of 2^-24
  const e = exponentOf(a);
  return sign | ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
}

/** IEEE binary16 bit patterns of `values`, each rounded to nearest even. */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16BitsOf(roundToFloat16(values[i] as number));
  return out;
}

/** bfloat16 bit patterns of `values`, each rounded to nearest even (NaN → the quiet NaN 0x7fc0). */
export function toBfloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) {
      out[i] = 0x7fc0;
      continue;
    }
    f32[0] = roundToBfloat16(v); // exact in float32: bfloat16 is float32 with the low 16 bits zero
    out[i] = (bits[0] as number) >>> 16;
  }
  return out;
}
