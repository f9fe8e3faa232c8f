import type { PrismConfig } from '../src/config/schema.ts';
import { buildDeadLetter } from '../src/schemas/dead-letter.ts';
import { RecordCodec } from '../src/schemas/codec.ts';
import { SchemaRegistryError } from '../src/schemas/errors.ts';
import { createSchemaRegistry } from '../src/schema-store/from-config.ts';
import type { ScoredTrajectory, Trajectory } from '../src/schemas/types.ts';
import { validateTrajectory } from '../src/schemas/validate.ts';
import type { DeadLetterBuilder } from '../src/operators/route.ts';

export interface PipelineCodecs {
  readonly decodeValue: (value: Buffer | null) => Promise<Trajectory>;
  readonly isFatalDecodeError: (err: unknown) => boolean;
  readonly encodeScored: (topic: string, record: ScoredTrajectory) => Promise<Buffer>;
  readonly deadLetter: DeadLetterBuilder;
}

/**
 * Wire formats (src/schemas): trajectories in `input.format` (Confluent Avro or JSON) and
 * validated; ScoredTrajectory outputs always Avro with Confluent framing (one codec per output
 * topic, so an HTTP registry sees `<topic>-value` subjects); dead letters keep the raw bytes.
 */
export function pipelineCodecs(c: PrismConfig): PipelineCodecs {
  const registry = createSchemaRegistry(c.input.schemaRegistry);
  const input = new RecordCodec('trajectory', {
    format: c.input.format,
    registry,
    topic: c.topics.trajectories,
    maxBytes: c.input.limits.maxBytes,
  });
  const outputs = new Map<string, RecordCodec<'scored-trajectory'>>();
  const outputCodec = (topic: string): RecordCodec<'scored-trajectory'> => {
    let codec = outputs.get(topic);
    if (codec === undefined) {
      codec = new RecordCodec('scored-trajectory', { format: 'avro', registry, topic });
      outputs.set(topic, codec);
    }
    return codec;
  };
  return {
    decodeValue: async (value) => validateTrajectory(await input.decode(value), c.input.limits),
    isFatalDecodeError: (err) => err instanceof SchemaRegistryError,
    encodeScored: (topic, record) => outputCodec(topic).encode(record),
    deadLetter: (failed) => buildDeadLetter(failed.source, failed.error),
  };
}
