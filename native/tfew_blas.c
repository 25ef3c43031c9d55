// tfew_blas: single-precision GEMM for the wasm backend's matMul, run natively through OpenBLAS found at run
// time with dlopen (no link-time dependency: without OpenBLAS, load() says why and tfew keeps wasm's kernel),
// and a row-wise log-sum-exp (plain C, for the token NLL over the vocabulary: one pass per row, no temporaries).
// Operands live in the wasm heap (an ArrayBuffer); offsets are byte offsets into it.
#include <dlfcn.h>
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

static sgemm_fn sgemm = NULL;

static int max1(int32_t v) { return v > 1 ? v : 1; }
static char loaded_from[256] = "";

static napi_value make_string(napi_env env, const char *text) {
  napi_value out;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

// load(threads) -> the library's name, or null when no OpenBLAS could be opened
static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t threads = 1;
  if (argc > 0) napi_get_value_int32(env, argv[0], &threads);
  if (sgemm == NULL) {
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", NULL};
    for (int i = 0; names[i] != NULL && sgemm == NULL; i++) {
      void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
      if (lib == NULL) continue;
      sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
      set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
      if (sgemm != NULL && set_threads != NULL) set_threads(threads);
      if (sgemm != NULL) snprintf(loaded_from, sizeof loaded_from, "%s", names[i]);
    }
  }
  if (sgemm == NULL) {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  return make_string(env, loaded_from);
}

// gemm(heap, aOffset, bOffset, cOffset, batch, m, n, k, transA, transB, aBatchStride, bBatchStride)
// C[i] = op(A[i])·op(B[i]) for i < batch, row-major; a batch stride of 0 broadcasts that operand.
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 12 || sgemm == NULL) {
    napi_throw_error(env, NULL, "tfew_blas.gemm: call load() first and pass 12 arguments");
    return NULL;
  }
  void *heap = NULL;
  size_t heap_bytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "tfew_blas.gemm: heap must be an ArrayBuffer");
    return NULL;
  }
  double off[3];
  int32_t v[8];
  for (int i = 0; i < 3; i++) napi_get_value_double(env, argv[1 + i], &off[i]);
  for (int i = 0; i < 8; i++) napi_get_value_int32(env, argv[4 + i], &v[i]);
  int32_t batch = v[0], m = v[1], n = v[2], k = v[3], ta = v[4], tb = v[5], sa = v[6], sb = v[7];
  if (batch < 1 || m < 0 || n < 0 || k < 0 || sa < 0 || sb < 0) {
    napi_throw_range_error(env, NULL, "tfew_blas.gemm: bad sizes");
    return NULL;
  }
  uint64_t need_a = (uint64_t)off[0] + 4ull * ((uint64_t)sa * (batch - 1) + (uint64_t)m * k);
  uint64_t need_b = (uint64_t)off[1] + 4ull * ((uint64_t)sb * (batch - 1) + (uint64_t)k * n);
  uint64_t need_c = (uint64_t)off[2] + 4ull * (uint64_t)batch * m * n;
  if (need_a > heap_bytes || need_b > heap_bytes || need_c > heap_bytes) {
    napi_throw_range_error(env, NULL, "tfew_blas.gemm: operand outside the heap");
    return NULL;
  }
  const float *a = (const float *)((uint8_t *)heap + (uint64_t)off[0]);
  const float *b = (const float *)((uint8_t *)heap + (uint64_t)off[1]);
  float *c = (float *)((uint8_t *)heap + (uint64_t)off[2]);
  if (m == 0 || n == 0) return NULL;  // empty output: nothing to write
  if (k == 0) {  // an empty sum: C = 0 (BLAS would reject lda = 0, or leave C unwritten)
    memset(c, 0, 4ull * (uint64_t)batch * m * n);
    return NULL;
  }
  // leading dimensions of the row-major operands; BLAS requires each >= 1
  int lda = max1(ta ? m : k), ldb = max1(tb ? k : n), ldc = max1(n);
  for (int32_t i = 0; i < batch; i++) {
    sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, 1.0f, a + (uint64_t)sa * i, lda,
          b + (uint64_t)sb * i, ldb, 0.0f, c + (uint64_t)m * n * i, ldc);
  }
  return NULL;
}

// Σ exp(x[i] − max) over n values all <= max, in a loop the compiler vectorizes (fast-math here only: the
// sum may be reassociated into SIMD lanes; NaN and Inf were ruled out by the caller). exp(y) for y <= 0:
// y = k·ln2 + r with |r| <= ln2/2 (k by truncating y·log2e − ½, which rounds for y <= 0; ln2 in two parts),
// e^r by a degree-6 Taylor polynomial (relative error < 2e-7 there, about float32's resolution), 2^k from the
// exponent bits. y is clamped at −87 (float's smallest normal is e^−87.3): e^−87 in place of a smaller term
// changes no sum that holds e^0 = 1. Built twice, for AVX2 and for any x86-64; the loader picks one at run time.
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#define TFEW_CLONES __attribute__((target_clones("avx2", "default")))  // needs glibc's ifunc
#else
#define TFEW_CLONES
#endif
__attribute__((optimize("O3", "fast-math"))) TFEW_CLONES static float sum_exp(const float *x, int32_t n, float max) {
  float sum = 0.0f;
  for (int32_t i = 0; i < n; i++) {
    float y = x[i] - max;
    y = y < -87.0f ? -87.0f : y;
    int32_t k = (int32_t)(y * 1.44269504088896341f - 0.5f);
    float r = y - (float)k * 0.693145751953125f - (float)k * 1.428606765330187e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f + r * (8.3333338e-3f +
                                                                                     r * 1.3888889e-3f)))));
    union {
      int32_t bits;
      float value;
    } scale = {.bits = (k + 127) << 23};
    sum += p * scale.value;
  }
  return sum;
}

// logsumexp(heap, inOffset, outOffset, rows, cols): out[r] = log Σ_c exp(x[r, c]) for a row-major [rows, cols]
// x, as max + log Σ exp(x − max) (sum_exp). A row holding +Inf gives +Inf; a NaN gives NaN; an all −Inf row gives −Inf.
static napi_value logsumexp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *heap = NULL;
  size_t heap_bytes = 0;
  if (argc != 5 || napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "tfew_blas.logsumexp: pass (heap ArrayBuffer, inOffset, outOffset, rows, cols)");
    return NULL;
  }
  double off[2];
  int32_t rows = 0, cols = 0;
  napi_get_value_double(env, argv[1], &off[0]);
  napi_get_value_double(env, argv[2], &off[1]);
  napi_get_value_int32(env, argv[3], &rows);
  napi_get_value_int32(env, argv[4], &cols);
  if (rows < 0 || cols < 1 || (uint64_t)off[0] + 4ull * (uint64_t)rows * cols > heap_bytes ||
      (uint64_t)off[1] + 4ull * (uint64_t)rows > heap_bytes) {
    napi_throw_range_error(env, NULL, "tfew_blas.logsumexp: bad sizes or operand outside the heap");
    return NULL;
  }
  const float *x = (const float *)((uint8_t *)heap + (uint64_t)off[0]);
  float *out = (float *)((uint8_t *)heap + (uint64_t)off[1]);
  for (int32_t r = 0; r < rows; r++) {
    const float *row = x + (uint64_t)r * cols;
    float max = row[0];
    int nan = 0;
    for (int32_t c = 0; c < cols; c++) {
      nan |= row[c] != row[c];
      max = row[c] > max ? row[c] : max;
    }
    if (nan || isinf(max)) {  // NaN, +Inf or an all −Inf row: the answer is NaN or max itself
      out[r] = nan ? NAN : max;
      continue;
    }
    double sum = 0.0;  // blocks of 256 in float (SIMD lanes), the blocks in double
    for (int32_t start = 0; start < cols; start += 256)
      sum += sum_exp(row + start, start + 256 < cols ? 256 : cols - start, max);
    out[r] = max + (float)log(sum);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"logsumexp", NULL, logsumexp, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
