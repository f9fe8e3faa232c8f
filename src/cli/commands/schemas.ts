import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SchemaRegistryError } from '../../schemas/errors.ts';

// The schema code (avsc, the config loader) is imported in the actions, on use, so `prism --help` and
// the other commands do not load it.

export function register(program: Command): void {
  const schemas = program
    .command('schemas')
    .description('Avro schemas of prism records (schemas/*.avsc) and their registry');

  schemas
    .command('list')
    .description(
      'list registered schema versions: id, subject, version (local registry.json, or a Schema Registry)',
    )
    .option(
      '--registry-url <url>',
      'Confluent-compatible Schema Registry (default: input.schemaRegistry.url)',
    )
    .option('--registry-file <path>', 'registry.json to list (default: schemas/registry.json)')
    .option('--config <file>', 'YAML config file (default: PRISM_CONFIG)')
    .option('--json', 'print JSON (with the schemas) instead of a table')
    .action(
      async (opts: { registryUrl?: string; registryFile?: string; config?: string; json?: boolean }) => {
        const [{ createSchemaRegistry }, { loadInputConfig }] = await Promise.all([
          import('../../schema-store/from-config.ts'),
          import('../input-config.ts'),
        ]);
        const input = loadInputConfig({
          config: opts.config,
          registryUrl: opts.registryUrl,
          registryFile: opts.registryFile,
        });
        const registry = createSchemaRegistry(input.schemaRegistry);
        const versions = await registry.list();
        if (opts.json === true) {
          process.stdout.write(
            `${JSON.stringify(versions.map((v) => ({ ...v, schema: JSON.parse(v.schema) as unknown })))}\n`,
          );
          return;
        }
        const width = Math.max(7, ...versions.map((v) => v.subject.length));
        process.stdout.write(
          `# ${registry.source}\n${'ID'.padStart(4)}  ${'SUBJECT'.padEnd(width)}  VERSION\n`,
        );
        for (const v of versions)
          process.stdout.write(`${String(v.id).padStart(4)}  ${v.subject.padEnd(width)}  ${v.version}\n`);
      },
    );

  schemas
    .command('build')
    .description('append changed schemas/*.avsc to schemas/registry.json (append-only; ids never change)')
    .option('--check', 'only check that registry.json is up to date (exit 1 if not)')
    .action(async (opts: { check?: boolean }) => {
      const [
        { loadSourceTypes },
        { defaultRegistryPath, readRegistryFile },
        { buildRegistryFile, serializeRegistryFile },
      ] = await Promise.all([
        import('../../schema-store/sources.ts'),
        import('../../schema-store/registry-file.ts'),
        import('../../schemas/local-registry.ts'),
      ]);
      const path = defaultRegistryPath();
      const previous = existsSync(path) ? readRegistryFile(path) : undefined;
      const next = serializeRegistryFile(buildRegistryFile(previous, loadSourceTypes()));
      const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (next === current) {
        process.stdout.write(`${path} is up to date\n`);
        return;
      }
      if (opts.check === true) {
        throw new SchemaRegistryError(
          'REGISTRY_FILE_STALE',
          `${path} is out of date with schemas/*.avsc: run \`prism schemas build\``,
        );
      }
      writeFileSync(path, next);
      const added = buildRegistryFile(previous, loadSourceTypes()).entries.slice(
        previous?.entries.length ?? 0,
      );
      for (const e of added)
        process.stdout.write(`registered ${e.subject} version ${e.version} as id ${e.id}\n`);
    });
}
