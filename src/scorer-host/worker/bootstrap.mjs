// Worker bootstrap for running from TypeScript sources: worker threads do not inherit the module
// hooks the parent registered, so register tsx here, then load the real entry (workerData.entry).
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.entry);
