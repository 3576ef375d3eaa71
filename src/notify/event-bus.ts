import type { MailEvent } from '../core/index.js';

export type EventListener = (event: MailEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  publish(events: readonly MailEvent[]): void {
    for (const event of events) {
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A subscriber's bug must not stop delivery of the event to the others.
        }
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event matching `predicate` (published after this call). */
  waitFor(predicate: (event: MailEvent) => boolean, signal?: AbortSignal): Promise<MailEvent> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        unsubscribe();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const unsubscribe = this.subscribe((event) => {
        if (!predicate(event)) return;
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(event);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
