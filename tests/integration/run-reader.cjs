/* global require, setTimeout, clearTimeout */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: the fix must load before kafkajs */
'use strict';
/**
 * Reference read_committed reader for the `prism run` tests, run as a child process so the
 * kafkajs aborted-transaction fix is installed before kafkajs loads (see
 * src/consumer/read-committed-fix.cjs). Usage: node run-reader.cjs <brokers> <topic>...
 * Prints one JSON line per record: {topic, partition, offset, key, headers, value (base64)}.
 */
require('../../src/consumer/read-committed-fix.cjs').install();
const { Kafka, logLevel } = require('kafkajs');

async function readTopic(kafka, topic) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.offset)]));
  await admin.disconnect();
  const pending = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  const out = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({
    groupId: `run-reader-${Date.now()}-${Math.random().toString(16).slice(2)}`,
    maxWaitTimeInMs: 200,
  });
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (BigInt(payload.lastOffset) + 1n >= (ends.get(payload.partition) ?? 0n))
      pending.delete(payload.partition);
    if (pending.size === 0) finish();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (BigInt(message.offset) >= (ends.get(partition) ?? 0n)) return;
      const headers = {};
      for (const [k, v] of Object.entries(message.headers ?? {}))
        headers[k] = String(Array.isArray(v) ? v[v.length - 1] : v);
      out.push({
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        headers,
        value: message.value ? message.value.toString('base64') : null,
      });
    },
  });
  const timer = setTimeout(() => finish(new Error(`timed out reading ${topic}`)), 60000);
  const err = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (err) throw err;
  return out;
}

(async () => {
  const [brokers, ...topics] = process.argv.slice(2);
  // Plain CommonJS (no TS createKafka): the same PRISM_KAFKA_SSL_* / PRISM_KAFKA_SASL_* contract by hand.
  const env = process.env;
  const fs = require('node:fs');
  const ssl =
    env.PRISM_KAFKA_SSL_CA_FILE || env.PRISM_KAFKA_SSL_ENABLED === 'true'
      ? {
          rejectUnauthorized: true,
          ...(env.PRISM_KAFKA_SSL_CA_FILE ? { ca: [fs.readFileSync(env.PRISM_KAFKA_SSL_CA_FILE)] } : {}),
        }
      : undefined;
  const sasl = env.PRISM_KAFKA_SASL_MECHANISM
    ? {
        mechanism: env.PRISM_KAFKA_SASL_MECHANISM,
        username: env.PRISM_KAFKA_SASL_USERNAME,
        password:
          env.PRISM_KAFKA_SASL_PASSWORD ||
          fs.readFileSync(env.PRISM_KAFKA_SASL_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, ''),
      }
    : undefined;
  const kafka = new Kafka({
    brokers: brokers.split(','),
    clientId: 'prism-test-reader',
    logLevel: logLevel.ERROR,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
  });
  for (const topic of topics)
    for (const r of await readTopic(kafka, topic)) process.stdout.write(`${JSON.stringify(r)}\n`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
