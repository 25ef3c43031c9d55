// Measures tf.matMul on the webgpu backend against a float64 JS reference for each forced matMul program type
// (WEBGPU_MATMUL_PROGRAM_TYPE), transpose combination and shape. Run inside the lavapipe root after `npm run build`:
//   scripts/lavapipe-run.sh node scripts/webgpu-matmul-matrix.mjs [--raw]   (--raw: without tfew's workaround)
import { tf } from "../dist/backend/tf.js";
import { registerWebgpuBackend } from "../dist/backend/webgpu.js";

const PROGRAMS = { auto: -1, reduce: 0, splitK: 1, smallOutput: 2, packed: 3 };
// [batch, M, N, K]: the LM-head shapes of the bug report, small outputs, non-multiples of 4, batched 3-D
const SHAPES = [
  [1, 6, 32, 64],
  [1, 6, 32, 512],
  [1, 6, 32, 2048],
  [1, 6, 32, 4096],
  [1, 6, 32, 32128],
  [1, 6, 30, 2048],
  [1, 5, 32, 2048],
  [1, 1, 32, 4096],
  [1, 32, 64, 2048],
  [1, 64, 64, 4096],
  [1, 8, 8, 32128],
  [3, 6, 32, 2048],
  [2, 16, 16, 4096],
  [4, 5, 7, 512],
];

/** Deterministic values in [-1, 1) (a small LCG: the same inputs on every run and backend). */
function values(count, seed) {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** float64 reference of op(A)·op(B) for row-major A, B stored as the transpose flags say. */
function reference(a, b, [batch, m, n, k], ta, tb) {
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k;
    const bo = p * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[ao + q * m + i] : a[ao + i * k + q];
          const bv = tb ? b[bo + j * k + q] : b[bo + q * n + j];
          sum += av * bv;
        }
        out[p * m * n + i * n + j] = sum;
      }
    }
  }
  return out;
}

function relativeError(got, want) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return worst / scale;
}

async function main() {
  const raw = process.argv.includes("--raw");
  if (raw) process.env.TFEW_WEBGPU_MATMUL_FIX = "0";
  const registration = await registerWebgpuBackend();
  if (!registration.ok) throw new Error(registration.reason);
  await tf.setBackend("webgpu");
  await tf.ready();
  console.log(`adapter: ${registration.adapter}; workaround ${raw ? "off" : "on"}`);
  const rows = [];
  for (const shape of SHAPES) {
    const [batch, m, n, k] = shape;
    const a = values(batch * m * k, 7 + k);
    const b = values(batch * k * n, 11 + n);
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      const want = reference(a, b, shape, ta, tb);
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      const errors = {};
      for (const [name, type] of Object.entries(PROGRAMS)) {
        if (name === "splitK" && batch > 1) continue; // the backend asserts batch 1 for split-K
        tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", type);
        const x = batch > 1 ? tf.tensor3d(a, [batch, ...aShape]) : tf.tensor2d(a, aShape);
        const y = batch > 1 ? tf.tensor3d(b, [batch, ...bShape]) : tf.tensor2d(b, bShape);
        const z = tf.matMul(x, y, ta, tb);
        errors[name] = relativeError(await z.data(), want);
        tf.dispose([x, y, z]);
      }
      tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", -1);
      const cells = Object.entries(errors).map(([name, e]) => `${name}=${e.toExponential(1)}`);
      rows.push(`${shape.join("x").padEnd(14)} tA=${+ta} tB=${+tb}  ${cells.join(" ")}`);
      console.log(rows.at(-1));
    }
  }
}

await main();
