import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { Consumer, IHeaders, KafkaMessage } from 'kafkajs';
import { ConfigError, PrismError, errorMessage } from '../../errors.ts';
import type { RecordFileWriter } from '../../io/files.ts';
import type { Progress } from '../../io/progress.ts';
import type { Decoded } from '../../schemas/codec.ts';
import type { DeadLetterInfo } from '../../schemas/dead-letter.ts';
import { SCHEMA_KINDS, type SchemaKind } from '../../schemas/kinds.ts';
import { ensureBrokerReachable } from '../preflight.ts';

interface ConsumeOptions {
  topic: string;
  out?: string;
  fromBeginning?: boolean;
  max?: number;
  timeout?: number;
  brokers?: string;
  group?: string;
  format?: 'avro' | 'json';
  schema: SchemaKind;
  registryUrl?: string;
  registryFile?: string;
  config?: string;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`expected a positive number, got ${v}`);
  return n;
}

function positiveInt(v: string): number {
  const n = positiveNumber(v);
  if (!Number.isInteger(n)) throw new ConfigError(`expected a positive integer, got ${v}`);
  return n;
}

/** A dead-letter record as one JSONL line: its error headers, key, and the original value (decoded when possible). */
interface DeadLetterLine {
  dead_letter: DeadLetterInfo;
  key: string | null;
  value: unknown;
  value_error: string | null;
  value_base64: string | null;
  source: { topic: string; partition: number; offset: string };
}

export function register(program: Command): void {
  program
    .command('consume')
    .description(
      'read a topic (read_committed) and write its records as JSONL (dead letters with their error headers)',
    )
    .requiredOption('--topic <topic>', 'topic to read')
    .option('--out <file>', 'output file (.jsonl, or .avro for one --schema kind); default stdout')
    .option('--from-beginning', 'start at the earliest offset (default: only new records)')
    .option('--max <n>', 'stop after n records', positiveInt)
    .option(
      '--timeout <seconds>',
      'stop after this many seconds without a new record (counted from joining the group)',
      positiveNumber,
    )
    .option('--brokers <list>', 'host:port[,host:port] (default: PRISM_KAFKA_BROKERS, then 127.0.0.1:19092)')
    .option(
      '--group <id>',
      'consumer group (offsets are committed); default: a throwaway group, nothing committed',
    )
    .addOption(
      new Option('--format <format>', 'value format (default: input.format, avro)').choices(['avro', 'json']),
    )
    .addOption(
      new Option(
        '--schema <kind>',
        'record kind for json values and .avro output (avro values carry their kind)',
      )
        .choices([...SCHEMA_KINDS])
        .default('trajectory'),
    )
    .option('--registry-url <url>', 'Confluent-compatible Schema Registry (default: schemas/registry.json)')
    .option('--registry-file <path>', 'registry.json for schema ids (default: schemas/registry.json)')
    .option('--config <file>', 'YAML config file (default: PRISM_CONFIG)')
    .action(consume);
}

type Decode = (bytes: Buffer | null) => Promise<Decoded>;
type ReadDeadLetter = (typeof import('../../schemas/dead-letter.ts'))['readDeadLetter'];

/** Counters and the stop/idle state of one consume run. */
class ConsumeRun {
  records = 0;
  deadLetters = 0;
  skipped = 0;
  stopping = false;
  fatal: unknown;
  private idle: NodeJS.Timeout | undefined;
  private finish: () => void = () => undefined;
  /** Resolves on stop(): --max reached, --timeout idle, a signal or a fatal error. */
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(
    private readonly topic: string,
    private readonly timeoutSeconds: number | undefined,
  ) {}

  /** (Re)starts the --timeout idle timer. */
  readonly armIdle = (): void => {
    if (this.timeoutSeconds === undefined) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(this.stop, this.timeoutSeconds * 1000);
  };

  readonly stop = (): void => {
    this.stopping = true;
    clearTimeout(this.idle);
    this.finish();
  };

  /** Not a bad record (e.g. registry unreachable, output not writable): stop, reported by the caller. */
  fail(err: unknown): void {
    this.fatal = err;
    this.stop();
  }

  clearIdle(): void {
    clearTimeout(this.idle);
  }

  skip(partition: number, offset: string, err: unknown): void {
    this.skipped++;
    const code = err instanceof PrismError ? err.code : 'UNEXPECTED_ERROR';
    process.stderr.write(`${this.topic}[${partition}]@${offset}: ${code} ${errorMessage(err)} (skipped)\n`);
  }
}

interface HandlerDeps {
  opts: ConsumeOptions;
  decode: Decode;
  readDeadLetter: ReadDeadLetter;
  writer: RecordFileWriter<unknown>;
  avroOut: boolean;
  run: ConsumeRun;
}

/** A dead letter as one JSONL line (its value decoded when possible); never into an .avro file. */
async function writeDeadLetter(
  d: HandlerDeps,
  dlq: DeadLetterInfo,
  partition: number,
  message: KafkaMessage,
): Promise<void> {
  let value: unknown = null;
  let valueError: string | null = null;
  try {
    value = (await d.decode(message.value)).value;
  } catch (err) {
    valueError = err instanceof PrismError ? err.code : errorMessage(err);
  }
  const line: DeadLetterLine = {
    dead_letter: dlq,
    key: message.key?.toString('utf8') ?? null,
    value,
    value_error: valueError,
    value_base64: message.value?.toString('base64') ?? null,
    source: { topic: d.opts.topic, partition, offset: message.offset },
  };
  if (d.avroOut)
    return d.run.skip(
      partition,
      message.offset,
      new ConfigError('dead-letter records cannot be written to an .avro file'),
    );
  await d.writer.write(line);
  d.run.deadLetters++;
}

/** One record: a dead letter, a decoded record, or a skipped bad one; throws only on fatal errors. */
async function handleMessage(d: HandlerDeps, partition: number, message: KafkaMessage): Promise<void> {
  const headers: IHeaders = message.headers ?? {};
  const dlq = d.readDeadLetter(headers);
  if (dlq) return writeDeadLetter(d, dlq, partition, message);
  let decoded: Decoded;
  try {
    decoded = await d.decode(message.value);
  } catch (err) {
    return d.run.skip(partition, message.offset, err);
  }
  if (d.avroOut && decoded.kind !== d.opts.schema) {
    return d.run.skip(
      partition,
      message.offset,
      new ConfigError(`record is a ${decoded.kind}, the .avro output holds ${d.opts.schema}`),
    );
  }
  try {
    await d.writer.write(decoded.value);
  } catch (err) {
    if (!(err instanceof PrismError) || err.code !== 'SCHEMA_MISMATCH') throw err;
    return d.run.skip(partition, message.offset, err); // e.g. NaN, which JSON cannot carry
  }
}

/** Subscribes and handles records until the run stops; rethrows a fatal error. */
async function consumeUntilStopped(
  consumer: Consumer,
  d: HandlerDeps,
  bar: Progress | undefined,
): Promise<void> {
  const { opts, run } = d;
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, run.armIdle);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    run.fail(payload.error);
  });
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: opts.fromBeginning === true });
  await consumer.run({
    autoCommit: opts.group !== undefined,
    eachMessage: async ({ partition, message }) => {
      if (run.stopping) return;
      run.armIdle();
      try {
        await handleMessage(d, partition, message);
      } catch (err) {
        run.fail(err);
        return;
      }
      run.records++;
      bar?.update(run.records);
      if (opts.max !== undefined && run.records >= opts.max) run.stop();
    },
  });
  await run.finished;
  if (run.fatal !== undefined) throw run.fatal;
}

/** `prism consume`: decode a topic (read_committed) to JSONL or .avro until --max, --timeout or a signal. */
async function consume(opts: ConsumeOptions): Promise<void> {
  // Loaded on use, so `prism --help` and the other commands do not pay for kafkajs, avsc and zod.
  const [
    { resolveBrokers },
    { createKafka },
    { toBrokerError },
    { createRecordFileWriter, fileFormatOf, jsonlWriter },
    { progressBar },
    { AnyRecordDecoder, RecordCodec },
    { readDeadLetter },
    { createSchemaRegistry },
    { loadInputConfig },
  ] = await Promise.all([
    import('../../config/kafka.ts'),
    import('../../kafka/client.ts'),
    import('../../kafka/errors.ts'),
    import('../../io/files.ts'),
    import('../../io/progress.ts'),
    import('../../schemas/codec.ts'),
    import('../../schemas/dead-letter.ts'),
    import('../../schema-store/from-config.ts'),
    import('../input-config.ts'),
  ]);
  const input = loadInputConfig({
    config: opts.config,
    format: opts.format,
    registryUrl: opts.registryUrl,
    registryFile: opts.registryFile,
  });
  const out = opts.out ?? '-';
  const avroOut = fileFormatOf(out) === 'avro';
  const decode: Decode =
    input.format === 'avro'
      ? (
          (d) => (bytes) =>
            d.decode(bytes)
        )(
          new AnyRecordDecoder({
            registry: createSchemaRegistry(input.schemaRegistry),
            maxBytes: input.limits.maxBytes,
          }),
        )
      : (
          (c) => (bytes) =>
            c.decodeWithInfo(bytes)
        )(new RecordCodec(opts.schema, { format: 'json', maxBytes: input.limits.maxBytes }));
  const writer: RecordFileWriter<unknown> =
    out === '-' ? jsonlWriter(process.stdout, false, 'stdout') : createRecordFileWriter(out, opts.schema);

  const brokers = resolveBrokers(opts.brokers);
  await ensureBrokerReachable(brokers, `consume ${opts.topic}`);
  const verbose = process.env.PRISM_LOG_LEVEL === 'debug' || process.env.PRISM_LOG_LEVEL === 'trace';
  const kafka = createKafka({
    brokers,
    clientId: 'prism-cli-consume',
    logLevel: verbose ? 'debug' : 'nothing',
  });
  const groupId = opts.group ?? `prism-consume-${randomBytes(6).toString('hex')}`;
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250 });

  const run = new ConsumeRun(opts.topic, opts.timeout);
  const bar: Progress | undefined =
    opts.max !== undefined && out !== '-' ? progressBar('consume', opts.max, 'records') : undefined;
  const onSignal = (): void => run.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await consumeUntilStopped(consumer, { opts, decode, readDeadLetter, writer, avroOut, run }, bar);
  } catch (err) {
    if (err instanceof PrismError) throw err;
    throw toBrokerError(brokers, `consume ${opts.topic}`, err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    run.clearIdle();
    bar?.stop();
    await consumer.disconnect().catch(() => undefined);
    await writer.close();
  }
  const dl = run.deadLetters > 0 ? `, ${run.deadLetters} dead letters` : '';
  const sk = run.skipped > 0 ? `, ${run.skipped} skipped (listed above)` : '';
  process.stderr.write(`consumed ${run.records} records from ${opts.topic}${dl}${sk}\n`);
}
