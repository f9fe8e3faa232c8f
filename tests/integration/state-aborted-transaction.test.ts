/**
 * arbitration.state kafka: a micro-batch's scores ride in its transaction. An aborted transaction
 * leaves its score record in the log (read_uncommitted sees it) but invisible to read_committed
 * readers, so the global window never counts it; a committed one leaves exactly one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { Arbitrator } from '../../src/arbitration/arbitrator.ts';
import { medianPolicy } from '../../src/arbitration/policy.ts';
import { encodeScoreRecord, scoreRecordKey, type ScoreRecord } from '../../src/arbitration/score-record.ts';
import { fetchCommittedOffset } from '../../src/consumer/committed-offsets.ts';
import { createLogger } from '../../src/log.ts';
import type { Outbound } from '../../src/operators/types.ts';
import { TransactionalLaneSink } from '../../src/producer/transactional-sink.ts';
import { GlobalWindow } from '../../streams/global-window.ts';
import { createTestTopic, readAllRecords, testKafka, uniqueName } from './helpers/kafka.ts';

const log = createLogger('state-test', 'silent');
const probe = { modelId: 'deterministic', version: '1' };

function scoreRecord(group: string, input: string, offset: number, value: number): ScoreRecord {
  return {
    v: 1,
    group,
    trajectory_id: `t-${offset}`,
    probe_model_id: probe.modelId,
    probe_model_version: probe.version,
    metric: 'gini',
    value,
    scores: { gini: value, kurtosis: 3, cv: 1, l2: 1 },
    route: 'RL',
    threshold: 0.5,
    source_topic: input,
    source_partition: 0,
    source_offset: String(offset),
    scored_at: Date.now(),
  };
}

function outbound(topic: string, scores: string, r: ScoreRecord, valueBytes: number): Outbound {
  return {
    source: {
      topic: r.source_topic,
      partition: 0,
      offset: r.source_offset,
      key: null,
      value: null,
      headers: {},
      timestamp: Date.now(),
    },
    route: 'RL',
    topic,
    key: r.trajectory_id,
    value: Buffer.alloc(valueBytes, 1),
    headers: {},
    changelog: { topic: scores, key: scoreRecordKey(r), value: encodeScoreRecord(r) },
  };
}

describe('scores topic and transactions (arbitration.state kafka)', () => {
  const kafka = testKafka('state-aborted');
  let admin: Admin | undefined;

  afterAll(async () => {
    await admin?.disconnect();
  });

  it('an aborted transaction leaves no score visible to read_committed readers or the global window', async () => {
    const group = uniqueName('state-aborted');
    const input = await createTestTopic(uniqueName('state-in'), { partitions: 1 });
    const out = await createTestTopic(uniqueName('state-out'), { partitions: 1 });
    // A topic that refuses the batch's output: the transaction fails after its score was sent.
    const small = await createTestTopic(uniqueName('state-small'), {
      partitions: 1,
      configs: { 'max.message.bytes': '2048' },
    });
    const scores = await createTestTopic(uniqueName('state-scores'), { partitions: 1 });
    admin = kafka.admin();
    await admin.connect();
    const a = admin;
    const committedOffset = () => fetchCommittedOffset(a, group, input, 0);
    const sink = await TransactionalLaneSink.open({
      kafka,
      transactionalId: uniqueName('state-txn'),
      groupId: group,
      topic: input,
      partition: 0,
      transactionTimeoutMs: 30_000,
      maxAttempts: 1,
      committedOffset,
      stableOffset: committedOffset,
      log,
    });
    const committed = scoreRecord(group, input, 0, 0.3);
    const aborted = scoreRecord(group, input, 1, 0.9);
    try {
      await sink.write([outbound(out, scores, committed, 100)]);
      await expect(sink.write([outbound(small, scores, aborted, 8192)])).rejects.toMatchObject({
        code: 'SINK_WRITE_FAILED',
      });
    } finally {
      await sink.close();
    }

    const everything = await readAllRecords(scores, { readUncommitted: true });
    const visible = await readAllRecords(scores);
    const offsetsOf = (rs: { value: string | null }[]) =>
      rs.map((r) => (JSON.parse(r.value ?? '{}') as ScoreRecord).source_offset);
    // The aborted score was written (the log holds it), and only read_committed hides it.
    expect(offsetsOf(everything).sort()).toEqual(['0', '1']);
    expect(offsetsOf(visible)).toEqual(['0']);

    // The global window restores from read_committed: the committed score only.
    const arbitrator = new Arbitrator({
      policy: medianPolicy(),
      metric: 'gini',
      windowSize: 16,
      warmup: 1,
      shared: true,
    });
    const window = new GlobalWindow({
      kafka,
      admin: a,
      topic: scores,
      group,
      arbitrator,
      current: () => probe,
      windowSize: 16,
      restoreTimeoutMs: 60_000,
      log,
    });
    try {
      const report = await window.start();
      expect(report).toMatchObject({ restored: 1, read: 1, complete: true });
      expect(arbitrator.snapshot()).toEqual([{ probe, size: 1, warm: true, threshold: 0.3 }]);
      expect(window.routedCounts()).toEqual({ sft: 0, rl: 1 });
    } finally {
      await window.stop();
    }
  });
});
