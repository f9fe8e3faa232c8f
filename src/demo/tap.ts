import type { Consumer, Kafka } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import type { TopicsConfig } from '../config/topics.ts';
import { DEFAULT_LABEL, labelOf } from '../eval/labels.ts';
import type { Logger } from '../log.ts';
import { readDeadLetter } from '../schemas/dead-letter.ts';
import type { Metric, Route } from '../schemas/types.ts';
import { TrainerCodecs } from '../trainer/kafka/codecs.ts';

/** One routed record as read back from the sft/rl topic. */
export interface TappedRecord {
  readonly id: string;
  readonly family: string | null;
  /** metadata.conflict (the label of `prism eval routing`); null when unlabelled. */
  readonly conflict: boolean | null;
  readonly route: Route;
  readonly scores: Readonly<Record<Metric, number>>;
  readonly responseTokens: number;
  readonly metric: Metric;
  readonly threshold: number;
  readonly scoredAt: number;
}

export interface PublishedVersion {
  readonly modelId: string;
  readonly version: string;
  readonly step: number;
}

/** Counts of what the outputs hold, read_committed: only what the arbitrator really committed. */
export interface TapCounts {
  readonly sft: number;
  readonly rl: number;
  /** Dead letters of input records (the arbitrator's DLQ). */
  readonly dlqInput: number;
  /** Dead letters the trainers wrote, by their source topic. */
  readonly dlqSft: number;
  readonly dlqRl: number;
  /** Distinct trajectory ids over sft + rl (equals sft + rl when nothing was duplicated). */
  readonly distinctRouted: number;
  readonly undecodable: number;
}

/**
 * Reads the arbitrator's outputs (sft, rl, dlq) and the model-updates topic with a throwaway
 * read_committed consumer: the honest source of the demo's counts, scores and routes.
 */
export class OutputTap {
  readonly records: TappedRecord[] = [];
  readonly dlqCodes = new Map<string, number>();
  readonly versions: PublishedVersion[] = [];
  private readonly ids = new Set<string>();
  /** Per topic-partition, the offsets already read: a re-read after a rejoin is not counted twice. */
  private readonly seen = new Map<string, Set<string>>();
  private counts = { sft: 0, rl: 0, dlqInput: 0, dlqSft: 0, dlqRl: 0, undecodable: 0 };
  /** When the last sft/rl/dlq record arrived (ms since the epoch). */
  lastRoutedAt: number | null = null;

  private constructor(
    private readonly consumer: Consumer,
    private readonly topics: TopicsConfig,
    private readonly codecs: TrainerCodecs,
    private readonly log: Logger,
  ) {}

  static async start(kafka: Kafka, topics: TopicsConfig, log: Logger): Promise<OutputTap> {
    const consumer = kafka.consumer({
      groupId: `prism-demo-tap-${process.pid}-${randomBytes(3).toString('hex')}`,
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      // Nothing is committed, so a member evicted on a starved 2-core machine would re-read from
      // the start after rejoining: a long session makes that rare, the offset check below harmless.
      sessionTimeout: 120_000,
      rebalanceTimeout: 120_000,
      allowAutoTopicCreation: false,
    });
    const tap = new OutputTap(
      consumer,
      topics,
      TrainerCodecs.fromConfig({}, { input: topics.sft, modelUpdates: topics.modelUpdates }),
      log,
    );
    await consumer.connect();
    await consumer.subscribe({
      topics: [topics.sft, topics.rl, topics.dlq, topics.modelUpdates],
      fromBeginning: true,
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (!tap.firstRead(topic, partition, message.offset)) return;
        await tap.take(topic, message.value, message.headers);
      },
    });
    return tap;
  }

  /** True the first time (topic, partition, offset) is read. */
  firstRead(topic: string, partition: number, offset: string): boolean {
    const key = `${topic}\u0000${partition}`;
    let offsets = this.seen.get(key);
    if (offsets === undefined) {
      offsets = new Set();
      this.seen.set(key, offsets);
    }
    if (offsets.has(offset)) return false;
    offsets.add(offset);
    return true;
  }

  get snapshot(): TapCounts {
    return { ...this.counts, distinctRouted: this.ids.size };
  }

  /** sft + rl + dlq of input records: every produced record ends up in exactly one of them. */
  get routed(): number {
    return this.counts.sft + this.counts.rl + this.counts.dlqInput;
  }

  /** The threshold of the most recently scored record (the running median at the end). */
  get lastThreshold(): number | null {
    let best: TappedRecord | undefined;
    for (const r of this.records) if (best === undefined || r.scoredAt >= best.scoredAt) best = r;
    return best?.threshold ?? null;
  }

  private async take(
    topic: string,
    value: Buffer | null,
    headers: Parameters<typeof readDeadLetter>[0],
  ): Promise<void> {
    const t = this.topics;
    if (topic === t.dlq) {
      const info = readDeadLetter(headers);
      const source = info?.topic ?? '';
      if (source === t.sft) this.counts.dlqSft++;
      else if (source === t.rl) this.counts.dlqRl++;
      else this.counts.dlqInput++;
      const code = info?.code ?? 'UNKNOWN';
      if (source !== t.sft && source !== t.rl) this.dlqCodes.set(code, (this.dlqCodes.get(code) ?? 0) + 1);
      this.lastRoutedAt = Date.now();
      return;
    }
    try {
      if (topic === t.modelUpdates) {
        const u = await this.codecs.decodeUpdate(value);
        this.versions.push({ modelId: u.model_id, version: u.version, step: u.step });
        return;
      }
      const s = await this.codecs.decodeScored(value);
      const p = s.prism;
      const route: Route = topic === t.rl ? 'RL' : 'SFT';
      if (route === 'RL') this.counts.rl++;
      else this.counts.sft++;
      this.ids.add(s.trajectory.id);
      this.records.push({
        id: s.trajectory.id,
        family: s.trajectory.metadata.family ?? null,
        conflict: labelOf(s.trajectory.metadata, DEFAULT_LABEL),
        route,
        scores: { gini: p.gini, kurtosis: p.kurtosis, cv: p.cv, l2: p.l2 },
        responseTokens: p.response_tokens,
        metric: p.metric,
        threshold: p.threshold,
        scoredAt: p.scored_at,
      });
      this.lastRoutedAt = Date.now();
    } catch (err) {
      this.counts.undecodable++;
      this.log.warn(
        { topic, err: err instanceof Error ? err.message : String(err) },
        'demo output reader: undecodable record',
      );
    }
  }

  /** Waits (at most `ms`) until every version in `versions` was read from the model-updates topic. */
  async waitForVersions(versions: readonly string[], ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !versions.every((v) => this.versions.some((x) => x.version === v))) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}
