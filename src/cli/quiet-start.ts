/**
 * Keeps start-up stderr to prism's own JSON logs. Called by the CLI before any command loads
 * TensorFlow (tfjs is imported lazily, inside command actions):
 *
 * - `TF_CPP_MIN_LOG_LEVEL=2` (unless set) before libtensorflow loads: no INFO/WARNING lines such as
 *   cpu_feature_guard's "This TensorFlow binary is optimized to use available CPU instructions…".
 *   TensorFlow 2.21 still prints its "oneDNN custom operations are on" line (and absl's "All log
 *   messages before absl::InitializeLog()" header) from its static initialisers, before it reads
 *   the variable; only `TF_ENABLE_ONEDNN_OPTS=0` silences that, at the cost of oneDNN kernels.
 * - tfjs' "Hi, looks like you are running TensorFlow.js in Node.js … install our node backend"
 *   banner is dropped: it fires on the first use of the pure-JS cpu backend and points at the
 *   stock tfjs-node install, while prism chooses and logs its backend itself ("tfjs backend: …",
 *   with `npm run setup:native` as the hint when the native one is missing).
 */
const TFJS_NODE_BANNER = 'install our node backend';

export function quietNativeStartup(env: NodeJS.ProcessEnv = process.env): void {
  env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]): void => {
    if (typeof args[0] === 'string' && args[0].includes(TFJS_NODE_BANNER)) return;
    warn(...args);
  };
}
