// Every test process reads topics with the same kafkajs read_committed fix that bin/prism.mjs
// installs for the CLI (src/consumer/read-committed-fix.cjs): it must run before kafkajs loads.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
(require('../../src/consumer/read-committed-fix.cjs') as { install: () => void }).install();
