/**
 * GET /api/v1/events/stream read by a real HTTP client as a browser's EventSource would: events
 * arrive as they are committed, a reconnect with Last-Event-ID goes on where it stopped, and an
 * account sees only its own events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';

interface StreamEvent {
  id: string | null;
  data: any;
}

/** A text/event-stream read with fetch, parsed into events; `next` waits for one that matches. */
class SseClient {
  readonly events: StreamEvent[] = [];
  readonly comments: string[] = [];
  private waiters: { match(e: StreamEvent): boolean; resolve(e: StreamEvent): void }[] = [];
  private readonly abort = new AbortController();
  status = 0;
  contentType = '';

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, { headers, signal: client.abort.signal });
    client.status = res.status;
    client.contentType = res.headers.get('content-type') ?? '';
    if (res.ok && res.body) void client.pump(res.body);
    return client;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | null = null;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (!data.length) continue;
          const event = { id, data: JSON.parse(data.join('\n')) };
          this.events.push(event);
          for (const w of this.waiters.filter((w) => w.match(event))) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(event);
          }
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  next(match: (e: StreamEvent) => boolean): Promise<StreamEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): void {
    this.abort.abort();
  }
}

describe('the live event stream', () => {
  let w: ApiWorld;
  let readKey: string;
  const streams: SseClient[] = [];

  before(async () => {
    w = await startApiWorld();
    readKey = (await w.herald.accounts.createApiKey({ accountId: 'default', name: 'reader', scope: 'read' })).key;
  });
  after(async () => {
    for (const s of streams) s.close();
    await w.close();
  });

  const open = async (query = '', headers: Record<string, string> = {}, key = readKey) => {
    const s = await SseClient.open(`${w.base}/api/v1/events/stream${query}`, { authorization: `Bearer ${key}`, ...headers });
    streams.push(s);
    return s;
  };
  const send = async (to: string, key = w.adminKey) => {
    const res = await call(w.base, 'POST', '/api/v1/messages', { key, body: { from: 'live@sender.test', to, subject: 'live', text: 'x' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const of = (id: string, type: string) => (e: StreamEvent) => e.data.type === type && e.data.data.message_id === id;

  test('events arrive as they are committed, with the cursors and bodies of GET /events', async () => {
    const stream = await open();
    assert.equal(stream.status, 200);
    assert.match(stream.contentType, /^text\/event-stream/);
    const id = await send('ann@a.test');
    const accepted = await stream.next(of(id, 'message.accepted'));
    const delivered = await stream.next(of(id, 'message.delivered'));
    assert.equal(delivered.data.data.recipient, 'ann@a.test');
    assert.ok(Number(delivered.id) > Number(accepted.id));

    // The same event, id and body as the pull API gives from the same cursor.
    const pulled = await call(w.base, 'GET', `/api/v1/events?after=${Number(accepted.id) - 1}&limit=1`, { key: readKey });
    assert.deepEqual(pulled.body.events[0], accepted.data);
    assert.equal(accepted.data.cursor, accepted.id);
  });

  test('Last-Event-ID resumes after the last event seen; message_id keeps one message', async () => {
    const first = await open();
    const one = await send('one@a.test');
    const seen = await first.next(of(one, 'message.delivered'));
    first.close();
    const two = await send('two@b.test');
    await w.events.finished(two, 1);

    const resumed = await open('?after=0', { 'last-event-id': seen.id! });
    await resumed.next(of(two, 'message.delivered'));
    assert.equal(resumed.events.some((e) => e.data.data.message_id === one), false, 'nothing at or before Last-Event-ID again');
    assert.equal(resumed.events[0].data.type, 'message.accepted');
    assert.equal(resumed.events[0].data.data.message_id, two);

    // two's events all come before three's, so once three's last one arrives, two's were read past.
    const three = await send('three@a.test');
    await w.events.finished(three, 1);
    const only = await open(`?after=${seen.id}&message_id=${three}`);
    await only.next(of(three, 'message.delivered'));
    assert.deepEqual(
      only.events.map((e) => [e.data.type, e.data.data.message_id]),
      [
        ['message.accepted', three],
        ['message.delivered', three],
      ],
    );
  });

  test('an account sees only its own events; bad cursors are refused naming the field', async () => {
    const other = await w.herald.accounts.create({ name: 'stream-other' });
    await w.herald.domains.setDevelopmentMode(other.id, true);
    const otherKey = (await w.herald.accounts.createApiKey({ accountId: other.id, name: 'admin', scope: 'admin' })).key;
    const mine = await open();
    const theirs = await open('', {}, otherKey);
    const their = await send('theirs@a.test', otherKey);
    const my = await send('mine@a.test');
    await theirs.next(of(their, 'message.delivered'));
    await mine.next(of(my, 'message.delivered'));
    assert.equal(mine.events.some((e) => e.data.data.message_id === their), false);
    assert.equal(theirs.events.some((e) => e.data.data.message_id === my), false);

    const badAfter = await call(w.base, 'GET', '/api/v1/events/stream?after=x', { key: readKey });
    assert.equal(badAfter.status, 400);
    assert.equal(badAfter.body.error.field, 'after');
    const badResume = await call(w.base, 'GET', '/api/v1/events/stream', { key: readKey, headers: { 'last-event-id': 'abc' } });
    assert.equal(badResume.status, 400);
    assert.equal(badResume.body.error.field, 'Last-Event-ID');
    const badMessage = await call(w.base, 'GET', '/api/v1/events/stream?message_id=nope', { key: readKey });
    assert.equal(badMessage.body.error.field, 'message_id');
    assert.equal((await call(w.base, 'GET', '/api/v1/events/stream')).status, 401);
  });
});
