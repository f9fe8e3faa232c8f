import { InvalidArgumentError, type Command } from 'commander';
import { collectSet, setOverrides } from '../config-flags.ts';

/** The Kafka admin code (kafkajs, zod), imported on use so `prism --help` and other commands skip it. */
async function loadAdmin() {
  const [{ resolveBrokers }, { withAdmin }, topics] = await Promise.all([
    import('../../config/kafka.ts'),
    import('../../kafka/admin/connect.ts'),
    import('../../kafka/admin/topics.ts'),
  ]);
  return { resolveBrokers, withAdmin, ...topics };
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const BROKERS_HELP = 'host:port[,host:port] (default: PRISM_KAFKA_BROKERS, then 127.0.0.1:19092)';

export function register(program: Command): void {
  const topics = program.command('topics').description('create and list the prism Kafka topics');

  topics
    .command('create')
    .description(
      'create the topics of the configuration (--config, PRISM_* env, flags; idempotent: existing ones are reported, not errors)',
    )
    .option('--partitions <n>', 'partitions per new topic', parsePositiveInt, 3)
    .option('--brokers <list>', BROKERS_HELP)
    .option('--config <file>', 'YAML config whose topics.* names to create (default: PRISM_CONFIG)')
    .option('--set <key=value>', 'any config key, repeatable (e.g. --set topics.sft=my.sft)', collectSet, [])
    .action(async (opts: { partitions: number; brokers?: string; config?: string; set: string[] }) => {
      const { withAdmin, ensureTopics, prismTopicSpecs } = await loadAdmin();
      const { loadConfig } = await import('../../config/load.ts');
      const overrides = setOverrides(opts.set);
      if (opts.brokers !== undefined)
        overrides.push({ path: 'kafka.brokers', value: opts.brokers, source: 'flag --brokers' });
      const config = loadConfig({ file: opts.config, overrides });
      const brokers = config.kafka.brokers;
      const specs = prismTopicSpecs(config.topics, {
        partitions: opts.partitions,
        scoresRetention: {
          ms: config.arbitration.scoresRetentionMs,
          bytes: config.arbitration.scoresRetentionBytes,
        },
      });
      const res = await withAdmin(brokers, 'create topics', (admin) => ensureTopics(admin, specs), {
        security: config.kafka,
      });
      for (const spec of specs) {
        const verb = res.created.includes(spec.name) ? 'created' : 'exists ';
        const extra = Object.entries(spec.configs)
          .map(([k, v]) => ` ${k}=${v}`)
          .join('');
        process.stdout.write(
          `${verb} ${spec.name}${verb === 'created' ? ` (${spec.partitions} partitions${extra})` : ''}\n`,
        );
      }
    });

  topics
    .command('list')
    .description('list the topics on the broker (internal __ topics hidden)')
    .option('--brokers <list>', BROKERS_HELP)
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { brokers?: string; json?: boolean }) => {
      const { resolveBrokers, withAdmin, listTopics } = await loadAdmin();
      const brokers = resolveBrokers(opts.brokers);
      const infos = await withAdmin(brokers, 'list topics', (admin) => listTopics(admin));
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(infos)}\n`);
        return;
      }
      const width = Math.max(5, ...infos.map((t) => t.name.length));
      process.stdout.write(`${'TOPIC'.padEnd(width)}  PARTITIONS  RF  CLEANUP\n`);
      for (const t of infos) {
        process.stdout.write(
          `${t.name.padEnd(width)}  ${String(t.partitions).padStart(10)}  ${String(t.replicationFactor).padStart(2)}  ${t.cleanupPolicy ?? '-'}\n`,
        );
      }
    });
}
