export { openTorchScorer } from './open.ts';
export { TorchScorer, requestChunks, type TorchScorerOptions } from './torch-scorer.ts';
export { ServiceSupervisor, type ServiceStatus } from './supervisor.ts';
export { ServiceConnection, type Endpoint } from './connection.ts';
export { TorchScorerError, type TorchScorerErrorCode } from './errors.ts';
export * from './protocol.ts';
