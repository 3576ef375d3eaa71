import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecipientOutcome } from '../core/index.js';
import { decideRetry, nextSlot } from './retry-policy.js';

const MIN = 60_000;
const schedule = [1 * MIN, 5 * MIN, 15 * MIN, 30 * MIN, 60 * MIN];
const created = new Date('2025-01-01T00:00:00Z');
const at = (ms: number) => new Date(created.getTime() + ms);
const expires = at(5 * 24 * 60 * MIN);
const deferred: RecipientOutcome = { kind: 'deferred', failure: { scope: 'recipient', reason: '451 greylisted' } };

test('next attempts are anchored to creation: created + sum of the steps so far', () => {
  const cases: [attempt: number, now: number, expected: number][] = [
    [1, 2_000, 1 * MIN],
    [2, 1 * MIN + 3_000, 6 * MIN],
    [3, 6 * MIN + 10_000, 21 * MIN],
    [5, 51 * MIN + 1, 111 * MIN],
    [6, 111 * MIN + 1, 171 * MIN], // the last step repeats
    [7, 171 * MIN + 1, 231 * MIN],
  ];
  for (const [attempt, now, expected] of cases) {
    const d = decideRetry({ outcome: deferred, attempt, createdAt: created, expiresAt: expires, now: at(now), schedule });
    assert.equal(d.state, 'deferred');
    assert.equal(d.nextAttemptAt?.getTime(), at(expected).getTime(), `attempt ${attempt}`);
  }
});

test('a slow attempt does not stretch the schedule, and a late one never schedules in the past', () => {
  // Attempt 1 took 40 s: still due at created + 1 min.
  assert.equal(decideRetry({ outcome: deferred, attempt: 1, createdAt: created, expiresAt: expires, now: at(40_000), schedule }).nextAttemptAt?.getTime(), at(MIN).getTime());
  // Herald was down for 3 hours after attempt 1: the next point of the grid after now.
  const late = decideRetry({ outcome: deferred, attempt: 2, createdAt: created, expiresAt: expires, now: at(180 * MIN), schedule });
  assert.equal(late.nextAttemptAt?.getTime(), at(231 * MIN).getTime());
  assert.ok(late.nextAttemptAt!.getTime() > at(180 * MIN).getTime());
});

test('notBefore from the failure pushes the next attempt later', () => {
  const outcome: RecipientOutcome = { ...deferred, notBefore: at(10 * MIN) } as RecipientOutcome;
  assert.equal(decideRetry({ outcome, attempt: 1, createdAt: created, expiresAt: expires, now: at(1000), schedule }).nextAttemptAt?.getTime(), at(10 * MIN).getTime());
});

test('capped at expiresAt; at or past expiry the recipient expires', () => {
  const shortExpiry = at(3 * MIN);
  assert.equal(decideRetry({ outcome: deferred, attempt: 2, createdAt: created, expiresAt: shortExpiry, now: at(2 * MIN), schedule }).nextAttemptAt?.getTime(), shortExpiry.getTime());
  assert.deepEqual(decideRetry({ outcome: deferred, attempt: 3, createdAt: created, expiresAt: shortExpiry, now: shortExpiry, schedule }), { state: 'expired' });
});

test('delivered and bounced are final whatever the time', () => {
  const delivered: RecipientOutcome = { kind: 'delivered', host: 'mx', reply: { code: 250, text: 'ok' } };
  const bounced: RecipientOutcome = { kind: 'bounced', failure: { scope: 'recipient', reason: '550' } };
  assert.deepEqual(decideRetry({ outcome: delivered, attempt: 9, createdAt: created, expiresAt: created, now: at(MIN), schedule }), { state: 'delivered' });
  assert.deepEqual(decideRetry({ outcome: bounced, attempt: 1, createdAt: created, expiresAt: expires, now: at(1), schedule }), { state: 'bounced' });
});

test('nextSlot with a one-step schedule repeats it', () => {
  assert.equal(nextSlot([50], 1, 0, 10), 50);
  assert.equal(nextSlot([50], 4, 0, 10), 200);
  assert.equal(nextSlot([50], 1, 0, 1_000), 1_050);
});
