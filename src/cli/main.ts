import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismError, errorMessage } from '../errors.ts';
import { registerCommands } from './commands/index.ts';
import { watchParent } from './parent-watch.ts';
import { quietNativeStartup } from './quiet-start.ts';

/** package.json sits two levels up from src/cli, three from dist/src/cli: walk up to find it. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate))
      return (JSON.parse(readFileSync(candidate, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return 'unknown';
}

quietNativeStartup();
// npx / npm run / a shell that dies without passing SIGTERM on: stop as if it had (parent-watch.ts).
watchParent();

const program = new Command('prism')
  .description(
    'prism-stream: route LLM agent trajectories from Kafka to SFT or RL by PRISM gradient concentration',
  )
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version also arrive here, with exit code 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof PrismError) {
    process.stderr.write(`prism: ${err.message} [${err.code}]\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`prism: unexpected error: ${errorMessage(err)}\n`);
    if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
