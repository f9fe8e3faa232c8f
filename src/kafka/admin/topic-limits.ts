import kafkajs, { type Admin } from 'kafkajs';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { OutputLimits } from '../../producer/fit.ts';

export interface TopicLimitsOptions {
  /** The input topic (its limit is compared with the DLQ's). */
  readonly input: string;
  /** Every topic the process writes to. */
  readonly outputs: readonly string[];
  readonly dlq: string;
  readonly log: Logger;
}

/**
 * `max.message.bytes` of the topics a process reads and writes (admin DescribeConfigs; the value
 * is the effective one: the topic's override or the broker's `message.max.bytes`). The sinks size
 * every output against it (producer/fit.ts) so a record the broker would refuse is written without
 * its payload instead of failing the transaction for ever.
 */
export class TopicLimits implements OutputLimits {
  private constructor(
    readonly dlqTopic: string,
    private readonly limits: ReadonlyMap<string, number>,
  ) {}

  /** Reads the limits once at start; warns when the DLQ accepts less than the input topic. */
  static async describe(admin: Admin, o: TopicLimitsOptions): Promise<TopicLimits> {
    const topics = [...new Set([o.input, o.dlq, ...o.outputs])];
    let limits = new Map<string, number>();
    try {
      limits = await describeMaxMessageBytes(admin, topics);
    } catch (err) {
      // Not fatal: without limits only the broker's MESSAGE_TOO_LARGE tells (the sinks then shrink).
      o.log.warn(
        { topics, err: errorMessage(err) },
        'could not read max.message.bytes of the topics (DescribeConfigs); oversized outputs are detected only when the broker refuses them',
      );
    }
    const t = new TopicLimits(o.dlq, limits);
    t.warnIfDlqSmaller(o.input, o.log);
    o.log.info({ maxMessageBytes: Object.fromEntries(limits) }, 'topic size limits');
    return t;
  }

  /** For tests and callers that know the limits. */
  static of(dlqTopic: string, limits: Record<string, number>): TopicLimits {
    return new TopicLimits(dlqTopic, new Map(Object.entries(limits)));
  }

  maxMessageBytes(topic: string): number | undefined {
    return this.limits.get(topic);
  }

  private warnIfDlqSmaller(input: string, log: Logger): void {
    const inMax = this.limits.get(input);
    const dlqMax = this.limits.get(this.dlqTopic);
    if (inMax === undefined || dlqMax === undefined || dlqMax >= inMax) return;
    log.warn(
      { input, inputMaxMessageBytes: inMax, dlq: this.dlqTopic, dlqMaxMessageBytes: dlqMax },
      `the DLQ topic accepts smaller records than the input topic (max.message.bytes ${dlqMax} < ${inMax}): ` +
        `dead letters of larger records are written without their payload (prism.error.payload: omitted); ` +
        `raise max.message.bytes of ${this.dlqTopic} to keep them whole`,
    );
  }
}

/** topic → max.message.bytes, for the topics that exist and report it. */
export async function describeMaxMessageBytes(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: ['max.message.bytes'],
    })),
  });
  const out = new Map<string, number>();
  for (const r of res.resources) {
    const entry = r.configEntries.find((e) => e.configName === 'max.message.bytes');
    const n = Number(entry?.configValue);
    if (r.errorCode === 0 && Number.isSafeInteger(n) && n > 0) out.set(r.resourceName, n);
  }
  return out;
}
