import { api, type Answer } from './api';

/** Retry, hold, release and cancel (POST /api/v1/messages/{id}/{action} and /messages/actions). */

export type MessageAction = 'retry' | 'hold' | 'release' | 'cancel';

export const ACTION_LABELS: Record<MessageAction, string> = {
  retry: 'Retry now',
  hold: 'Hold',
  release: 'Release',
  cancel: 'Cancel',
};

const DONE: Record<MessageAction, string> = {
  retry: 'will be retried now',
  hold: 'held',
  release: 'released',
  cancel: 'cancelled',
};

export type ActionResult = Answer<'/api/v1/messages/actions', 'post'>['results'][number];

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function actOn(id: string, action: MessageAction): Promise<string> {
  const r = await api<{ recipients: number }>('POST', `/api/v1/messages/${encodeURIComponent(id)}/${action}`);
  return `${plural(r.recipients, 'recipient')} ${DONE[action]}.`;
}

export async function actOnMany(ids: string[], action: MessageAction): Promise<{ summary: string; failures: ActionResult[] }> {
  const r = await api<{ succeeded: number; failed: number; results: ActionResult[] }>('POST', '/api/v1/messages/actions', { action, ids });
  const failures = r.results.filter((x) => !x.ok);
  const summary = `${plural(r.succeeded, 'message')} ${DONE[action]}` + (r.failed ? `; ${r.failed} not changed.` : '.');
  return { summary, failures };
}
