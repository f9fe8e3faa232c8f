/**
 * C source of the fp32 matmul ceiling probe: n×n×n cblas_sgemm on OpenBLAS, one warm-up call,
 * then `reps` timed calls; prints one JSON line. Kept as a string so dist/ builds carry it.
 */
export const SGEMM_C = String.raw`#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: sgemm N REPS THREADS\n"); return 2; }
  int n = atoi(argv[1]), reps = atoi(argv[2]), threads = atoi(argv[3]);
  if (n < 1 || reps < 1 || threads < 1) return 2;
  openblas_set_num_threads(threads);
  size_t count = (size_t)n * n;
  float *a = malloc(count * sizeof(float)), *b = malloc(count * sizeof(float)), *c = malloc(count * sizeof(float));
  double *secs = malloc(reps * sizeof(double));
  if (!a || !b || !c || !secs) return 3;
  for (size_t i = 0; i < count; i++) { a[i] = (float)((i % 7) - 3) * 0.01f; b[i] = (float)((i % 5) - 2) * 0.01f; c[i] = 0.0f; }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    secs[r] = now() - t0;
  }
  qsort(secs, reps, sizeof(double), cmp);
  double flop = 2.0 * n * (double)n * n;
  printf("{\"n\":%d,\"reps\":%d,\"threads\":%d,\"bestGflops\":%.3f,\"medianGflops\":%.3f,\"corename\":\"%s\",\"config\":\"%s\",\"check\":%g}\n",
         n, reps, openblas_get_num_threads(), flop / secs[0] / 1e9, flop / secs[reps / 2] / 1e9,
         openblas_get_corename(), openblas_get_config(), (double)c[count / 2]);
  return 0;
}
`;

/** The numpy fallback: the same measurement through numpy.matmul (numpy's bundled BLAS). */
export const SGEMM_PY = String.raw`import json, sys, time
import numpy as np
n, reps, threads = (int(x) for x in sys.argv[1:4])
try:
    from threadpoolctl import threadpool_limits, threadpool_info
    threadpool_limits(threads)
    info = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")} for d in threadpool_info()]
except ImportError:
    info = None
a = (np.arange(n * n, dtype=np.float32).reshape(n, n) % 7 - 3) * np.float32(0.01)
b = (np.arange(n * n, dtype=np.float32).reshape(n, n) % 5 - 2) * np.float32(0.01)
c = a @ b
secs = []
for _ in range(reps):
    t0 = time.perf_counter(); c = a @ b; secs.append(time.perf_counter() - t0)
secs.sort()
flop = 2.0 * n ** 3
print(json.dumps({"n": n, "reps": reps, "threads": threads, "bestGflops": flop / secs[0] / 1e9,
                  "medianGflops": flop / secs[reps // 2] / 1e9, "numpy": np.__version__, "blas": info}))
`;
