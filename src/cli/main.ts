import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { PrismError, errorMessage } from '../errors.ts';
import { registerCommands } from './commands/index.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('prism')
  .description('prism-stream: route LLM agent trajectories from Kafka to SFT or RL by PRISM gradient concentration')
  .version(pkg.version, '-V, --version')
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
