import type { MessageStatus, RecipientState } from './types.js';

// The "most active" pending state wins: a message with one recipient on the wire is delivering,
// whatever its other recipients are doing.
const PENDING_ORDER: readonly RecipientState[] = ['delivering', 'deferred', 'queued', 'held'];

/**
 * A message's status from its recipients' states: all in one state → that state; any pending →
 * the most active pending state; a mix of final states → 'partial'.
 */
export function messageStatus(states: Iterable<RecipientState>): MessageStatus {
  const seen = new Set(states);
  if (seen.size === 1) return [...seen][0];
  for (const state of PENDING_ORDER) if (seen.has(state)) return state;
  // Only a message without recipients has no state; it cannot be enqueued, so call it queued.
  return seen.size === 0 ? 'queued' : 'partial';
}
