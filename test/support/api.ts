/**
 * The HTTP API as a user reaches it: Herald in this process with its HTTP listener on
 * loopback, delivering through a real DNS server to SMTP sinks on 127.0.0.2 (a.test) and
 * 127.0.0.3 (b.test). Calls go over real HTTP with fetch.
 */
import type { MailEvent } from '../../src/core/index.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { startTestHerald, type TestHerald } from './herald.js';
import { freePort } from './processes.js';

export interface ApiWorld {
  dns: DnsServer;
  a: SmtpSink;
  b: SmtpSink;
  herald: TestHerald;
  base: string;
  /** The admin key Herald printed on its first start. */
  adminKey: string;
  events: EventLog;
  close(): Promise<void>;
}

export async function startApiWorld(env: Record<string, string> = {}): Promise<ApiWorld> {
  const port = await freePort('127.0.0.2');
  const dns = await startDnsServer();
  const [a, b] = await Promise.all([startSmtpSink({ host: '127.0.0.2', port }), startSmtpSink({ host: '127.0.0.3', port })]);
  dns.setZone({
    'a.test': { MX: [{ preference: 10, exchange: 'mx.a.test' }] },
    'mx.a.test': { A: ['127.0.0.2'] },
    'b.test': { MX: [{ preference: 10, exchange: 'mx.b.test' }] },
    'mx.b.test': { A: ['127.0.0.3'] },
  });
  const herald = await startTestHerald({ HERALD_DNS_SERVERS: dns.server, HERALD_OUTBOUND_PORT: String(port), HERALD_RETRY_SCHEDULE: '200ms', ...env });
  const events = new EventLog(herald);
  return {
    dns,
    a,
    b,
    herald,
    base: `http://127.0.0.1:${herald.port('http')}`,
    adminKey: herald.bootstrapKey?.key ?? '',
    events,
    async close() {
      await herald.close();
      await Promise.all([a.close(), b.close(), dns.close()]);
    },
  };
}

/** Every event Herald published since start, and a wait that also looks at the past. */
export class EventLog {
  readonly all: MailEvent[] = [];
  private readonly waiters = new Set<{ match(e: MailEvent): boolean; resolve(e: MailEvent): void }>();

  constructor(herald: TestHerald) {
    herald.events.subscribe((e) => {
      this.all.push(e);
      for (const w of this.waiters) {
        if (w.match(e)) {
          this.waiters.delete(w);
          w.resolve(e);
        }
      }
    });
  }

  waitFor(match: (e: MailEvent) => boolean): Promise<MailEvent> {
    const past = this.all.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve) => this.waiters.add({ match, resolve }));
  }

  /** Resolves when every recipient of the message reached a final state. */
  async finished(messageId: string, recipients: number): Promise<MailEvent[]> {
    const final = (e: MailEvent) => e.messageId === messageId && ['delivered', 'bounced', 'expired'].includes(e.type);
    for (;;) {
      const done = this.all.filter(final);
      if (done.length >= recipients) return done;
      await this.waitFor((e) => final(e) && !done.includes(e));
    }
  }
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON call with an API key; `body` may be a string to send it unencoded (malformed JSON tests). */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
