/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: it must patch kafkajs' require cache */
'use strict';
/**
 * Fix for kafkajs 2.2.4 read_committed (src/consumer/filterAbortedMessages.js).
 *
 * The broker lists a fetch's aborted transactions in the order their ABORT markers were written,
 * not by first offset. kafkajs activates at most one listed transaction per message, always the
 * head of that list. When transactions of several producers interleave in a partition and abort
 * out of first-offset order (exactly what happens when a crashed exactly-once app's open
 * transactions, one per input partition, are aborted by the next owner), records of aborted
 * transactions are handed to read_committed consumers as if committed. The Java consumer keeps
 * the list in a priority queue by first offset; this filter does the same, and only treats real
 * control records as abort markers.
 *
 * Install it before kafkajs is first loaded (bin/prism.mjs does): it replaces the module in
 * Node's require cache, which ESM imports of kafkajs share.
 */
const Long = require('kafkajs/src/utils/long');

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(message) {
  return (
    message.isControlRecord === true &&
    message.key != null &&
    Buffer.from(message.key).equals(ABORT_MARKER_KEY)
  );
}

function filterAbortedMessages({ messages, abortedTransactions }) {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) =>
    Long.fromValue(a.firstOffset).compare(Long.fromValue(b.firstOffset)),
  );
  const aborting = new Set();
  return messages.filter((message) => {
    const offset = Long.fromValue(message.offset);
    while (pending.length > 0 && offset.gte(Long.fromValue(pending[0].firstOffset))) {
      aborting.add(String(pending.shift().producerId));
    }
    const producerId = String(message.batchContext.producerId);
    if (isAbortMarker(message)) {
      aborting.delete(producerId);
      return true; // control records are dropped by Batch afterwards
    }
    return !(message.batchContext.inTransaction && aborting.has(producerId));
  });
}

let installed = false;

/** Puts the fixed filter into the require cache; false if kafkajs' own filter was already loaded. */
function install() {
  if (installed) return true;
  const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  const existing = require.cache[path];
  if (existing && existing.exports !== filterAbortedMessages) return false;
  const Module = require('node:module');
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = filterAbortedMessages;
  require.cache[path] = m;
  installed = true;
  return true;
}

module.exports = { filterAbortedMessages, install };
