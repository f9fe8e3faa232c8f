import type { SchemaRegistryConfig } from '../../config/input.ts';
import { DecodeError } from '../../schemas/errors.ts';
import { createSchemaRegistry } from '../../schema-store/from-config.ts';
import { RecordCodec } from '../../schemas/codec.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { ModelUpdate, ScoredTrajectory } from '../../schemas/types.ts';
import { MAGIC_BYTE } from '../../schemas/wire.ts';

/**
 * Codecs of the trainers: ScoredTrajectory in (the arbitrator writes Avro, Confluent framing; a
 * JSON value is accepted too, told apart by its first byte), ModelUpdate out (Avro).
 */
export class TrainerCodecs {
  private readonly avroIn: RecordCodec<'scored-trajectory'>;
  private readonly jsonIn: RecordCodec<'scored-trajectory'>;
  readonly modelUpdate: RecordCodec<'model-update'>;

  constructor(registry: SchemaRegistry, topics: { input: string; modelUpdates: string }, maxBytes?: number) {
    this.avroIn = new RecordCodec('scored-trajectory', {
      format: 'avro',
      registry,
      topic: topics.input,
      maxBytes,
    });
    this.jsonIn = new RecordCodec('scored-trajectory', { format: 'json', maxBytes });
    this.modelUpdate = new RecordCodec('model-update', {
      format: 'avro',
      registry,
      topic: topics.modelUpdates,
    });
  }

  static fromConfig(
    registryCfg: Partial<SchemaRegistryConfig>,
    topics: { input: string; modelUpdates: string },
    maxBytes?: number,
  ): TrainerCodecs {
    return new TrainerCodecs(createSchemaRegistry(registryCfg), topics, maxBytes);
  }

  /** Throws DecodeError (a PrismError with a reason code) for anything that is not a ScoredTrajectory. */
  async decodeScored(value: Buffer | null): Promise<ScoredTrajectory> {
    if (!value || value.length === 0)
      throw new DecodeError('DECODE_EMPTY', 'value is empty (null or zero bytes)');
    return value[0] === MAGIC_BYTE ? this.avroIn.decode(value) : this.jsonIn.decode(value);
  }

  encodeUpdate(u: ModelUpdate): Promise<Buffer> {
    return this.modelUpdate.encode(u);
  }

  decodeUpdate(value: Buffer | null): Promise<ModelUpdate> {
    return this.modelUpdate.decode(value);
  }
}
