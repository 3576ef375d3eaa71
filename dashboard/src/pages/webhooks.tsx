import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiFailure, type Answer } from '../api';
import { CopyButton } from '../copy-button';
import { Link } from '../router';
import { when } from '../format';

type WebhookView = Answer<'/api/v1/webhooks/{id}'>;

type AttemptView = Answer<'/api/v1/webhooks/{id}/attempts'>['attempts'][number];

type TestResult = Answer<'/api/v1/webhooks/{id}/test', 'post'>;

const message = (err: unknown) => (err instanceof ApiFailure || err instanceof Error ? err.message : String(err));
const statusClass = (s: WebhookView['status']) => (s === 'active' ? 'ok' : s === 'failing' ? 'missing' : 'wrong');

function SecretBox({ secret }: { secret: string }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>Signing secret</strong> — shown only now. Your endpoint checks each request's <code>webhook-signature</code> with it.
      </p>
      <div className="field">
        <span className="label">Secret</span>
        <code>{secret}</code>
        <CopyButton text={secret} label="the signing secret" />
      </div>
    </div>
  );
}

export function WebhooksPage({ admin }: { admin: boolean }) {
  const [hooks, setHooks] = useState<WebhookView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [addError, setAddError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);

  const load = useCallback(() => {
    api<{ webhooks: WebhookView[] }>('GET', '/api/v1/webhooks').then((r) => setHooks(r.webhooks), (err) => setError(message(err)));
  }, []);
  useEffect(() => {
    if (admin) load();
  }, [admin, load]);

  if (!admin)
    return (
      <section>
        <h1>Webhooks</h1>
        <p className="muted">Webhook endpoints are managed by the account's admins.</p>
      </section>
    );

  const add = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    setAddError(null);
    const events = String(data.get('events') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    try {
      const created = await api<WebhookView & { secret: string }>('POST', '/api/v1/webhooks', {
        url: String(data.get('url')).trim(),
        events: events.length ? events : null,
        description: String(data.get('description') ?? '').trim() || null,
      });
      setSecret({ id: created.id, secret: created.secret });
      form.reset();
      load();
    } catch (err) {
      setAddError(message(err));
    }
  };

  return (
    <section>
      <h1>Webhooks</h1>
      <p className="muted">
        Herald POSTs each event (delivered, bounced, opened, …) to your endpoints, signed per Standard Webhooks, retrying until they answer 2xx. See <code>docs/webhooks.md</code>.
      </p>
      <form className="inline" onSubmit={(e) => void add(e)} aria-label="Add a webhook">
        <label>
          Endpoint URL
          <input name="url" type="url" required placeholder="https://example.com/herald-events" />
        </label>
        <label>
          Event types (empty: all)
          <input name="events" placeholder="message.bounced, message.complained" />
        </label>
        <label>
          Description
          <input name="description" placeholder="CRM sync" />
        </label>
        <button type="submit">Add webhook</button>
        {addError && (
          <p className="error" role="alert">
            {addError}
          </p>
        )}
      </form>
      {secret && (
        <>
          <SecretBox secret={secret.secret} />
          <p>
            <Link href={`/webhooks/${secret.id}`}>Open the new endpoint</Link> to send it a test event.
          </p>
        </>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {hooks && hooks.length === 0 && <p className="muted">No webhook endpoints yet.</p>}
      {hooks && hooks.length > 0 && (
        <div className="table-wrap">
          <table className="list" aria-label="Webhook endpoints">
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {hooks.map((h) => (
                <tr key={h.id}>
                  <td>
                    <Link href={`/webhooks/${h.id}`}>{h.url}</Link>
                    {h.description && <div className="muted small">{h.description}</div>}
                  </td>
                  <td className="small">{h.events.join(', ')}</td>
                  <td>
                    <span className={`status status-${statusClass(h.status)}`}>{h.status}</span>
                  </td>
                  <td className="nowrap">{when(h.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function WebhookPage({ id, admin }: { id: string; admin: boolean }) {
  const [hook, setHook] = useState<WebhookView | null>(null);
  const [attempts, setAttempts] = useState<AttemptView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; bad?: boolean } | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const path = `/api/v1/webhooks/${encodeURIComponent(id)}`;

  const load = useCallback(() => {
    api<WebhookView>('GET', path).then(setHook, (err) => setError(message(err)));
    api<{ attempts: AttemptView[] }>('GET', `${path}/attempts?limit=50`).then((r) => setAttempts(r.attempts), () => setAttempts(null));
  }, [path]);
  useEffect(load, [load]);

  const act = async (work: () => Promise<string | void>) => {
    setBusy(true);
    setNotice(null);
    try {
      const text = await work();
      if (text) setNotice({ text });
    } catch (err) {
      setNotice({ text: message(err), bad: true });
    } finally {
      setBusy(false);
      load();
    }
  };
  const test = () =>
    act(async () => {
      const r = await api<TestResult>('POST', `${path}/test`);
      if (!r.ok) throw new Error(`The test event was not accepted: ${r.status ? `HTTP ${r.status}` : (r.error ?? 'no answer')} (${r.latency_ms} ms).`);
      return `Test event ${r.event_id} delivered: HTTP ${r.status} in ${r.latency_ms} ms.`;
    });
  const toggle = () =>
    act(async () => {
      const r = await api<WebhookView>('PATCH', path, { enabled: !hook!.enabled });
      return r.enabled ? 'Enabled: events it missed are sent from where it stopped.' : 'Disabled: no events are sent until it is enabled again.';
    });
  const rotate = () =>
    act(async () => {
      if (!window.confirm('Make a new signing secret? For 24 hours requests carry signatures with both the new and the old secret.')) return;
      const r = await api<{ secret: string }>('POST', `${path}/rotate-secret`);
      setSecret(r.secret);
    });

  if (error)
    return (
      <section>
        <h1>Webhook</h1>
        <p className="error" role="alert">
          {error}
        </p>
        <Link href="/webhooks">Back to webhooks</Link>
      </section>
    );
  if (!hook) return <p className="loading" role="status">Loading…</p>;

  return (
    <section>
      <p className="crumbs">
        <Link href="/webhooks">Webhooks</Link> / {hook.id}
      </p>
      <h1>
        <span className="mono">{hook.url}</span>
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`status status-${statusClass(hook.status)}`}>{hook.status}</span>
          {hook.disabled_reason && <span className="muted"> · {hook.disabled_reason}</span>}
        </dd>
        <dt>Events</dt>
        <dd>{hook.events.join(', ')}</dd>
        {hook.description && (
          <>
            <dt>Description</dt>
            <dd>{hook.description}</dd>
          </>
        )}
        {hook.retry && (
          <>
            <dt>Failing</dt>
            <dd>
              event {hook.retry.event_id}, {hook.retry.attempts} attempts since {when(hook.retry.failing_since)}; next {when(hook.retry.next_attempt_at)}
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{when(hook.created_at)}</dd>
      </dl>
      {admin && (
        <div className="actions" role="group" aria-label="Webhook actions">
          <button type="button" disabled={busy} onClick={() => void test()}>
            Send test event
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => void toggle()}>
            {hook.enabled ? 'Disable' : 'Enable'}
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => void rotate()}>
            Rotate secret
          </button>
        </div>
      )}
      {notice && (
        <p className={notice.bad ? 'error' : 'notice'} role={notice.bad ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      {secret && <SecretBox secret={secret} />}

      <h2>Recent attempts</h2>
      {attempts && attempts.length === 0 && <p className="muted">No attempts yet.</p>}
      {attempts && attempts.length > 0 && (
        <div className="table-wrap">
          <table className="list" aria-label="Recent attempts">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Answer</th>
                <th scope="col">Latency</th>
                <th scope="col">Next retry</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.id} data-event-type={a.event_type}>
                  <td className="nowrap">{when(a.at)}</td>
                  <td>
                    {a.event_type}
                    <div className="muted small mono">
                      {a.event_id} · attempt {a.attempt}
                    </div>
                  </td>
                  <td>
                    <span className={`status status-${a.status !== null && a.status >= 200 && a.status < 300 ? 'ok' : 'wrong'}`}>{a.status ?? 'no answer'}</span>
                    {(a.error || a.response) && <div className="muted small">{a.error ?? a.response}</div>}
                  </td>
                  <td>{a.latency_ms} ms</td>
                  <td className="nowrap">{when(a.next_retry_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
