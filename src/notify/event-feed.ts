import type { MailEvent } from '../core/index.js';
import type { ReadEvents } from './outbox.js';
import { publicTypeOf, type EventPresenter, type PublicEvent, type PublicEventType } from './public-events.js';

/** One entry of the pull API: the public event and the cursor just after it. */
export interface FeedEvent extends PublicEvent {
  cursor: string;
}

export interface FeedPage {
  events: FeedEvent[];
  /** Pass as `after` for the next page; it moves past everything looked at, matched or not. */
  nextCursor: number;
  /** True: call again at once. False: this is the newest event for now; poll again later. */
  hasMore: boolean;
}

export interface FeedRequest {
  accountId: string;
  /** The outbox seq to read after (0: from the oldest event kept). */
  after: number;
  /** Only these public types; all when empty or left out. */
  types?: readonly PublicEventType[];
  limit: number;
  /** Outbox events looked at per call at most, so a sparse account cannot make one call scan everything. */
  maxScan?: number;
}

const PAGE = 500;

/**
 * An account's public events after a cursor, in order — the pull API over the same outbox the
 * webhooks are sent from, so both carry the same event ids.
 */
export async function readFeed(readEvents: ReadEvents, presenter: EventPresenter, req: FeedRequest): Promise<FeedPage> {
  const maxScan = req.maxScan ?? 10_000;
  const types = req.types && req.types.length ? new Set(req.types) : null;
  const shows = (event: MailEvent) => {
    const type = publicTypeOf(event.type);
    return event.accountId === req.accountId && !!type && (!types || types.has(type));
  };
  const events: FeedEvent[] = [];
  let cursor = req.after;
  let scanned = 0;
  while (scanned < maxScan) {
    const want = Math.min(PAGE, maxScan - scanned);
    const page = await readEvents(cursor, want);
    // The labels of the messages this call can still show, in one lookup.
    presenter.prefetch(page.filter(shows).slice(0, req.limit - events.length));
    for (const event of page) {
      scanned++;
      cursor = event.seq!;
      if (!shows(event)) continue;
      const shown = await presenter.present(event);
      if (!shown) continue;
      events.push({ cursor: String(event.seq), ...shown });
      if (events.length >= req.limit) return { events, nextCursor: cursor, hasMore: true };
    }
    if (page.length < want) return { events, nextCursor: cursor, hasMore: false };
  }
  return { events, nextCursor: cursor, hasMore: true };
}
