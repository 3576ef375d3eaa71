import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import type { Resolver } from '../core/index.js';
import { blockedAddressReason, guardedLookup, parseWebhookUrl, urlHost, type WebhookTargetPolicy } from './ssrf.js';

/** The first bytes of an answer kept in the attempts log. */
export const RESPONSE_EXCERPT_BYTES = 500;
/** An answer is read (so the connection can be reused) up to this much, then cut off. */
const MAX_RESPONSE_READ = 64 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface WebhookRequest {
  url: string;
  /** The `webhook-id`: the event id, the same on every retry. */
  eventId: string;
  /** The `webhook-timestamp` (signed, so receivers can refuse old replays). */
  timestamp: Date;
  body: string;
  /** Signing secrets (whsec_…): one signature each, so a rotation has no gap. */
  secrets: string[];
}

export interface SendResult {
  /** A 2xx answer. */
  ok: boolean;
  /** The HTTP status, or null when there was no answer. */
  status: number | null;
  /** Why it failed, in plain words; null when ok. */
  error: string | null;
  latencyMs: number;
  /** The first RESPONSE_EXCERPT_BYTES of the answer's body. */
  response: string | null;
}

export interface WebhookSenderOptions {
  resolver: Resolver;
  policy: WebhookTargetPolicy;
  timeoutMs?: number;
  userAgent?: string;
}

/** Standard Webhooks signatures: "v1,<base64 HMAC-SHA256 of id.timestamp.body>", space-separated. */
export function signWebhook(secrets: readonly string[], eventId: string, timestamp: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(eventId, timestamp, body)).join(' ');
}

function describe(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ENOTFOUND':
    case 'ENODATA':
      return err.message.includes(' has no ') ? err.message : `the host has no address in DNS (${err.code})`;
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'ERR_WEBHOOK_TARGET':
    case 'ERR_WEBHOOK_TIMEOUT':
      return err.message;
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

/**
 * POSTs signed webhook requests. Never follows a redirect (a 3xx is a failure: following it
 * would let a public URL send us to an internal one), connects only to addresses the SSRF guard
 * allows (checked again at every connection), gives up after the timeout, and reads at most a
 * little of the answer.
 */
export class WebhookSender {
  private readonly lookup;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly parsed = new Map<string, URL>();
  private readonly agents = {
    // Keep-alive: a busy endpoint gets many requests in a row.
    'http:': new http.Agent({ keepAlive: true, maxFreeSockets: 4, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, maxFreeSockets: 4, scheduling: 'lifo' }),
  };

  constructor(private readonly options: WebhookSenderOptions) {
    this.lookup = guardedLookup(options.resolver, options.policy);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? 'Herald-Webhooks/1';
  }

  async send(request: WebhookRequest, signal?: AbortSignal): Promise<SendResult> {
    const refused = (error: string): SendResult => ({ ok: false, status: null, error, latencyMs: 0, response: null });
    let url = this.parsed.get(request.url);
    if (!url) {
      try {
        url = parseWebhookUrl(request.url, this.options.policy);
      } catch (err) {
        return refused((err as Error).message);
      }
      // Endpoints are few and their URLs change rarely: each is parsed (and checked) once.
      if (this.parsed.size >= 1000) this.parsed.clear();
      this.parsed.set(request.url, url);
    }
    const host = urlHost(url);
    // node:net skips `lookup` for an IP literal, so the guard sees it here.
    if (isIP(host) && !this.options.policy.allowPrivate) {
      const why = blockedAddressReason(host);
      if (why) return refused(`${host} is ${why}; webhooks may only reach public addresses`);
    }
    const body = Buffer.from(request.body);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'user-agent': this.userAgent,
      'webhook-id': request.eventId,
      'webhook-timestamp': String(Math.floor(request.timestamp.getTime() / 1000)),
      'webhook-signature': signWebhook(request.secrets, request.eventId, request.timestamp, request.body),
    };
    const started = performance.now();
    const protocol = url.protocol as 'http:' | 'https:';
    const client = protocol === 'https:' ? https : http;

    return new Promise<SendResult>((resolve) => {
      let done = false;
      const finish = (result: Omit<SendResult, 'latencyMs'>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve({ ...result, latencyMs: performance.now() - started });
      };
      const req = client.request(
        {
          protocol,
          hostname: host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers,
          agent: this.agents[protocol],
          lookup: this.lookup,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let kept = 0;
          let read = 0;
          const settle = () => {
            const ok = status >= 200 && status < 300;
            const excerpt = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
            let error: string | null = null;
            if (!ok) {
              error =
                status >= 300 && status < 400
                  ? `HTTP ${status}: redirects are not followed${res.headers.location ? ` (to ${String(res.headers.location).slice(0, 200)})` : ''}; use the final URL`
                  : `HTTP ${status}`;
            }
            finish({ ok, status, error, response: excerpt || null });
          };
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (kept < RESPONSE_EXCERPT_BYTES) {
              chunks.push(chunk);
              kept += chunk.length;
            }
            if (read > MAX_RESPONSE_READ) {
              settle();
              res.destroy();
            }
          });
          res.on('end', settle);
          res.on('close', settle);
          res.on('error', settle);
        },
      );
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs / 1000} s`), { code: 'ERR_WEBHOOK_TIMEOUT' })), this.timeoutMs);
      const onAbort = () => req.destroy(Object.assign(new Error('stopped'), { code: 'ABORT_ERR' }));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: Error & { code?: string }) => finish({ ok: false, status: null, error: describe(err), response: null }));
      req.end(body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}
