import { Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import type { Message, Producer } from 'kafkajs';
import type { InputLimits } from '../../config/input.ts';
import type { RecordCodec } from '../../schemas/codec.ts';
import { DecodeError, RecordError } from '../../schemas/errors.ts';
import type { Trajectory } from '../../schemas/types.ts';
import type { validateTrajectory } from '../../schemas/validate.ts';
import { ConfigError, PrismError } from '../../errors.ts';
import { ensureBrokerReachable } from '../preflight.ts';

/** Keeps one send's record batch well under Kafka's default message.max.bytes (1 MB). */
const MAX_BATCH_BYTES = 512 * 1024;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`expected a positive integer, got ${v}`);
  return n;
}

/** The encoded value, or the RecordError that keeps this trajectory from being sent. */
async function prepare(
  codec: RecordCodec<'trajectory'>,
  t: Trajectory,
  limits: InputLimits,
  validate: typeof validateTrajectory,
): Promise<Buffer | RecordError> {
  try {
    validate(t, limits);
    const bytes = await codec.encode(t);
    if (bytes.length > limits.maxBytes) {
      return new DecodeError(
        'RECORD_TOO_LARGE',
        `trajectory ${t.id} encodes to ${bytes.length} bytes, more than input.limits.maxBytes=${limits.maxBytes}`,
      );
    }
    return bytes;
  } catch (err) {
    if (err instanceof RecordError) return err;
    throw err;
  }
}

interface ProduceOptions {
  in: string;
  topic: string;
  format?: 'avro' | 'json';
  brokers?: string;
  registryUrl?: string;
  registryFile?: string;
  config?: string;
  batch: number;
  dryRun?: boolean;
}

export function register(program: Command): void {
  program
    .command('produce')
    .description(
      'validate a trajectory file, then publish the valid trajectories to a topic (key = trajectory id)',
    )
    .requiredOption('--in <file>', 'trajectories (.jsonl or .avro)')
    .requiredOption('--topic <topic>', 'topic to publish to')
    .addOption(
      new Option('--format <format>', 'value format (default: input.format, avro)').choices(['avro', 'json']),
    )
    .option('--brokers <list>', 'host:port[,host:port] (default: PRISM_KAFKA_BROKERS, then 127.0.0.1:19092)')
    .option(
      '--registry-url <url>',
      'Confluent-compatible Schema Registry (subject <topic>-value); default: schemas/registry.json ids',
    )
    .option('--registry-file <path>', 'registry.json for schema ids (default: schemas/registry.json)')
    .option('--config <file>', 'YAML config file (default: PRISM_CONFIG)')
    .option('--batch <n>', 'records per send', positiveInt, 500)
    .option('--dry-run', 'validate only; send nothing')
    .action(produce);
}

/** Loaded on use, so `prism --help` and the other commands do not pay for kafkajs, avsc and zod. */
async function loadModules() {
  const [
    { resolveBrokers },
    { createKafka },
    { toBrokerError },
    { readRecordFile },
    { progressBar },
    { reportInvalid },
    { RecordCodec },
    { createSchemaRegistry },
    { loadInputConfig },
    { validateTrajectory },
  ] = await Promise.all([
    import('../../config/kafka.ts'),
    import('../../kafka/client.ts'),
    import('../../kafka/errors.ts'),
    import('../../io/files.ts'),
    import('../../io/progress.ts'),
    import('../../io/report.ts'),
    import('../../schemas/codec.ts'),
    import('../../schema-store/from-config.ts'),
    import('../input-config.ts'),
    import('../../schemas/validate.ts'),
  ]);
  return {
    resolveBrokers,
    createKafka,
    toBrokerError,
    readRecordFile,
    progressBar,
    reportInvalid,
    RecordCodec,
    createSchemaRegistry,
    loadInputConfig,
    validateTrajectory,
  };
}

type Modules = Awaited<ReturnType<typeof loadModules>>;

/** What both passes share. */
interface Passes {
  m: Modules;
  opts: ProduceOptions;
  codec: RecordCodec<'trajectory'>;
  limits: InputLimits;
}

/** Pass 1: validate (and encode) everything; nothing is sent if the file cannot be read. */
async function validatePass({ m, opts, codec, limits }: Passes) {
  let size = 0;
  try {
    size = statSync(opts.in).size;
  } catch {
    // readRecordFile reports the missing file.
  }
  const invalid = m.reportInvalid(opts.in);
  const skip = new Set<number>();
  let valid = 0;
  let readBytes = 0;
  const check = m.progressBar('validate', size, 'MB');
  try {
    for await (const r of m.readRecordFile(opts.in, 'trajectory', {
      maxBytes: limits.maxBytes,
      onBytes: (n) => check.update((readBytes += n), valid),
    })) {
      const outcome = r.ok ? await prepare(codec, r.value, limits, m.validateTrajectory) : r.error;
      if (outcome instanceof RecordError) {
        skip.add(r.position);
        invalid.add(r.position, outcome);
      } else valid++;
    }
  } finally {
    check.stop();
  }
  return { invalid, skip, valid };
}

/** Pass 2: publish the valid ones, in file order, acks=all, idempotent; batches stay under MAX_BATCH_BYTES. */
async function publishPass(
  { m, opts, codec, limits }: Passes,
  producer: Producer,
  skip: ReadonlySet<number>,
  onSent: (sent: number) => void,
): Promise<{ sent: number; schemaId: number | undefined }> {
  let sent = 0;
  let schemaId: number | undefined;
  await producer.connect();
  let batch: Message[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await producer.send({ topic: opts.topic, messages: batch, acks: -1 });
    sent += batch.length;
    onSent(sent);
    batch = [];
    batchBytes = 0;
  };
  for await (const r of m.readRecordFile(opts.in, 'trajectory', { maxBytes: limits.maxBytes })) {
    if (!r.ok || skip.has(r.position)) continue;
    const value = await prepare(codec, r.value, limits, m.validateTrajectory);
    if (value instanceof RecordError) continue; // the file changed since pass 1
    if (codec.format === 'avro') schemaId ??= value.readInt32BE(1);
    if (batch.length > 0 && batchBytes + value.length > MAX_BATCH_BYTES) await flush();
    batch.push({ key: r.value.id, value });
    batchBytes += value.length;
    if (batch.length >= opts.batch) await flush();
  }
  await flush();
  return { sent, schemaId };
}

/** `prism produce`: validate the whole file, then publish the valid trajectories. */
async function produce(opts: ProduceOptions): Promise<void> {
  const m = await loadModules();
  const input = m.loadInputConfig({
    config: opts.config,
    format: opts.format,
    registryUrl: opts.registryUrl,
    registryFile: opts.registryFile,
  });
  const { limits } = input;
  const brokers = m.resolveBrokers(opts.brokers);
  // Say "no broker" within seconds, before validating a large file (as `prism run` does).
  if (opts.dryRun !== true) await ensureBrokerReachable(brokers, `produce to ${opts.topic}`);
  const registry = input.format === 'avro' ? m.createSchemaRegistry(input.schemaRegistry) : undefined;
  const codec = new m.RecordCodec('trajectory', { format: input.format, registry, topic: opts.topic });
  const passes: Passes = { m, opts, codec, limits };

  const { invalid, skip, valid } = await validatePass(passes);
  if (invalid.count > 0) process.exitCode = 1;
  if (opts.dryRun === true || valid === 0) {
    process.stdout.write(
      `${opts.dryRun === true ? 'dry run: ' : ''}${valid} valid trajectories, nothing sent to ${opts.topic}${invalid.summary()}\n`,
    );
    return;
  }

  const verbose = process.env.PRISM_LOG_LEVEL === 'debug' || process.env.PRISM_LOG_LEVEL === 'trace';
  const kafka = m.createKafka({
    brokers,
    clientId: 'prism-cli-produce',
    logLevel: verbose ? 'debug' : 'nothing',
  });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const bar = m.progressBar('produce', valid, 'records');
  let published: { sent: number; schemaId: number | undefined };
  try {
    published = await publishPass(passes, producer, skip, (sent) => bar.update(sent));
  } catch (err) {
    // Schema-registry and file errors are already typed; anything else came from kafkajs.
    if (err instanceof PrismError) throw err;
    throw m.toBrokerError(brokers, `produce to ${opts.topic}`, err);
  } finally {
    bar.stop();
    await producer.disconnect().catch(() => undefined);
  }
  const format = input.format === 'avro' ? `avro, schema id ${published.schemaId ?? '?'}` : 'json';
  process.stdout.write(
    `produced ${published.sent} trajectories to ${opts.topic} (${format})${invalid.summary()}\n`,
  );
}
