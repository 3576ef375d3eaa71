/**
 * The dashboard talks to Herald only through the public HTTP API, signed in with the session
 * cookie. Unsafe methods carry the session's CSRF token (X-Herald-CSRF); a 401 means the session
 * ended, and the app goes back to the sign-in page.
 */

export interface SessionInfo {
  user: { id: string; email: string; operator: boolean };
  account: { id: string; name: string; role: 'owner' | 'admin' | 'viewer'; scope: 'read' | 'admin' };
  accounts: { id: string; name: string; role: string }[];
  csrf: string;
  expires_at: string;
}

export interface MessageSummary {
  id: string;
  status: string;
  source: string;
  from: string;
  subject: string | null;
  tags: string[];
  metadata: Record<string, string>;
  stream: string;
  size: number;
  recipient_count: number;
  created_at: string;
  next_attempt_at: string | null;
}

export interface MailEventView {
  seq: number | null;
  type: string;
  at: string;
  recipient: string | null;
  data: Record<string, unknown>;
}

export interface MessageDetail extends MessageSummary {
  message_id_header: string | null;
  recipients: {
    address: string;
    state: string;
    attempts: number;
    next_attempt_at: string | null;
    last_reply: string | null;
    history: { at: string; host: string | null; state: string; reply: string }[];
  }[];
  events: MailEventView[];
}

export interface DnsRecordView {
  name: string;
  type: string;
  value: string;
  purpose: string;
  why: string;
  required: boolean;
}

export interface RecordCheckView {
  purpose: string;
  name: string;
  type: string;
  status: 'ok' | 'missing' | 'wrong' | 'error';
  required: boolean;
  expected: string;
  found: string[];
  problem?: string;
  fix?: string;
  note?: string;
}

export interface DomainView {
  name: string;
  status: 'unverified' | 'verified' | 'failing';
  return_path: string;
  verified_at: string | null;
  checked_at: string | null;
  sending_stops_at: string | null;
  checks: RecordCheckView[];
  records?: DnsRecordView[];
  created_at: string;
}

export type Figures = Record<string, number | null>;

export interface StatsReport {
  from: string;
  to: string;
  group_by: string;
  totals: Figures;
  rows: (Figures & { key: string })[];
  updated_at: string | null;
}

export interface Health {
  status: string;
  version: string;
  queue: Record<string, number>;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Where in a template the problem is (1-based), when the API says. */
    readonly where?: { line: number; column: number },
  ) {
    super(message);
  }
}

let csrf = '';
let onSignedOut: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-herald-csrf'] = csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string; field?: string; line?: number; column?: number } } | null;
  if (!res.ok) {
    const error = data?.error ?? { code: 'http_' + res.status, message: `Herald answered ${res.status}` };
    if (res.status === 401 && path !== '/api/v1/session') onSignedOut();
    const where = 'line' in error && error.line !== undefined ? { line: error.line, column: error.column ?? 1 } : undefined;
    throw new ApiFailure(res.status, error.code, error.message, error.field, where);
  }
  return data as T;
}

export const query = (params: Record<string, string | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
};
