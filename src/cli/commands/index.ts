import type { Command } from 'commander';

/**
 * One file per command group; each exports `register(program)`. Add new groups here.
 */
export function registerCommands(_program: Command): void {}
