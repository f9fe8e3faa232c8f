export {
  AUTO_ORDER,
  BACKEND_CHOICES,
  BackendUnavailableError,
  nodeBackendEnv,
  selectBackend,
} from './select.ts';
export { WebgpuError, describeAdapter, isSoftwareAdapter, probeWebgpu, type AdapterInfo } from './webgpu.ts';
export type {
  BackendAttempt,
  BackendChoice,
  BackendEnv,
  BackendInfo,
  BackendKind,
  SelectBackendOptions,
} from './select.ts';
