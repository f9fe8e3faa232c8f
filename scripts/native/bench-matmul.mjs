// Quick matmul throughput probe for one TensorFlow.js backend (run one backend per process):
//   node scripts/native/bench-matmul.mjs tensorflow|tensorflow-gpu|cpu|wasm [n=1024] [seconds=3]
// Prints JSON with GFLOP/s and user/real CPU time ratio (≈ cores busy). A diagnostic for setup:native,
// not a test: on a shared machine numbers vary with load.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const backend = process.argv[2] ?? 'tensorflow';
const n = Number(process.argv[3] ?? 1024);
const seconds = Number(process.argv[4] ?? 3);

// CPU seconds per OS thread (Linux /proc), to see how many threads share the work even on a loaded machine.
function threadCpu() {
  const dir = '/proc/self/task';
  const out = new Map();
  if (!existsSync(dir)) return out;
  for (const tid of readdirSync(dir)) {
    try {
      const f = readFileSync(`${dir}/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / 100); // utime + stime, in 1/100 s ticks
    } catch {
      // thread exited
    }
  }
  return out;
}

async function main() {
  let tf;
  if (backend === 'tensorflow') tf = require('@tensorflow/tfjs-node');
  else if (backend === 'tensorflow-gpu') tf = require('@tensorflow/tfjs-node-gpu');
  else {
    tf = require('@tensorflow/tfjs');
    if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend(backend);
  }
  await tf.ready();
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const step = () => tf.tidy(() => tf.matMul(a, b)).dataSync();
  step(); // warm-up (kernel selection, allocations)
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpu();
  const t0 = process.hrtime.bigint();
  let iters = 0;
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  while (iters === 0 || since() < seconds) {
    step();
    iters++;
  }
  const elapsed = since();
  const cpu = process.cpuUsage(cpu0);
  const perThread = [...threadCpu()]
    .map(([tid, t]) => t - (threads0.get(tid) ?? 0))
    .filter((t) => t > 0.05 * elapsed)
    .sort((x, y) => y - x);
  const gflops = (2 * n ** 3 * iters) / elapsed / 1e9;
  const flags =
    backend === 'wasm'
      ? {
          simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
          threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
        }
      : {};
  console.log(
    JSON.stringify({
      backend: tf.getBackend(),
      n,
      iters,
      seconds: +elapsed.toFixed(2),
      gflops: +gflops.toFixed(1),
      cpuPerWall: +((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2),
      busyThreadsCpuSeconds: perThread.map((t) => +t.toFixed(2)),
      intraOpEnv: process.env.TF_NUM_INTRAOP_THREADS ?? null,
      ...flags,
    }),
  );
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
