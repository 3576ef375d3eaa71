import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageStatus } from './status.js';

test('a message status follows its recipients', () => {
  assert.equal(messageStatus(['delivered', 'delivered']), 'delivered');
  assert.equal(messageStatus(['held']), 'held');
  assert.equal(messageStatus(['delivered', 'bounced']), 'partial');
  assert.equal(messageStatus(['delivered', 'bounced', 'expired']), 'partial');
  // Any pending recipient wins, the most active one first.
  assert.equal(messageStatus(['delivered', 'queued']), 'queued');
  assert.equal(messageStatus(['held', 'queued', 'bounced']), 'queued');
  assert.equal(messageStatus(['held', 'queued', 'deferred']), 'deferred');
  assert.equal(messageStatus(['held', 'deferred', 'delivering']), 'delivering');
  assert.equal(messageStatus(['held', 'delivered']), 'held');
});
