import { useEffect, useRef } from 'react';

/**
 * Live updates: the account's events as server-sent events (GET /api/v1/events/stream). A page
 * reloads what it shows when an event arrives — and when the stream (re)connects, since events
 * may have happened while it was not connected. Reloads are gathered: a burst of events makes
 * one reload.
 */
export function useLiveReload(reload: () => void, options: { messageId?: string; enabled?: boolean; delayMs?: number } = {}): void {
  const latest = useRef(reload);
  latest.current = reload;
  const { messageId, enabled = true, delayMs = 250 } = options;

  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') return;
    const q = messageId ? `?message_id=${encodeURIComponent(messageId)}` : '';
    // The browser reconnects on its own, sending Last-Event-ID; the session cookie goes along.
    const source = new EventSource(`/api/v1/events/stream${q}`);
    let timer: number | undefined;
    const soon = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => latest.current(), delayMs);
    };
    source.onmessage = soon;
    // Events between the page's first load and the stream's start, or while reconnecting, are
    // not sent: load again once connected.
    source.onopen = soon;
    return () => {
      window.clearTimeout(timer);
      source.close();
    };
  }, [messageId, enabled, delayMs]);
}
