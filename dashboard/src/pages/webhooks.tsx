import { useState, type FormEvent } from 'react';
import { api, type Answer } from '../api';
import { AdminOnly, Crumbs, ErrorPanel, ListTable, Loading, Notice, Problem, SecretShown, type NoticeView } from '../components';
import { message, useLoad } from '../hooks';
import { Link } from '../router';
import { when } from '../format';

type WebhookView = Answer<'/api/v1/webhooks/{id}'>;

type AttemptView = Answer<'/api/v1/webhooks/{id}/attempts'>['attempts'][number];

type TestResult = Answer<'/api/v1/webhooks/{id}/test', 'post'>;

const statusClass = (s: WebhookView['status']) => (s === 'active' ? 'ok' : s === 'failing' ? 'missing' : 'wrong');

function SecretBox({ secret }: { secret: string }) {
  return (
    <SecretShown
      title="Signing secret"
      note={
        <>
          shown only now. Your endpoint checks each request's <code>webhook-signature</code> with it.
        </>
      }
      field="Secret"
      value={secret}
      copyLabel="the signing secret"
    />
  );
}

export function WebhooksPage({ admin }: { admin: boolean }) {
  const { data: hooks, error, reload: load } = useLoad(() => api<{ webhooks: WebhookView[] }>('GET', '/api/v1/webhooks').then((r) => r.webhooks), [], admin);
  const [addError, setAddError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);

  if (!admin) return <AdminOnly title="Webhooks" what="Webhook endpoints" />;

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
        <Problem text={addError} />
      </form>
      {secret && (
        <>
          <SecretBox secret={secret.secret} />
          <p>
            <Link href={`/webhooks/${secret.id}`}>Open the new endpoint</Link> to send it a test event.
          </p>
        </>
      )}
      <Problem text={error} />
      <ListTable
        rows={hooks}
        label="Webhook endpoints"
        empty="No webhook endpoints yet."
        columns={['Endpoint', 'Events', 'Status', 'Created']}
        row={(h) => (
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
        )}
      />
    </section>
  );
}

export function WebhookPage({ id, admin }: { id: string; admin: boolean }) {
  const path = `/api/v1/webhooks/${encodeURIComponent(id)}`;
  const { data: hook, error, reload } = useLoad(() => api<WebhookView>('GET', path), [path]);
  // The attempts are extra: when they cannot be read the page shows the endpoint without them.
  const { data: attempts, reload: reloadAttempts } = useLoad(() => api<{ attempts: AttemptView[] }>('GET', `${path}/attempts?limit=50`).then((r) => r.attempts), [path]);
  const [notice, setNotice] = useState<NoticeView | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

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
      reload();
      reloadAttempts();
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

  if (error) return <ErrorPanel title="Webhook" error={error} back={{ href: '/webhooks', label: 'Back to webhooks' }} />;
  if (!hook) return <Loading />;

  return (
    <section>
      <Crumbs href="/webhooks" section="Webhooks" here={hook.id} />
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
      <Notice notice={notice} />
      {secret && <SecretBox secret={secret} />}

      <h2>Recent attempts</h2>
      <ListTable
        rows={attempts}
        label="Recent attempts"
        empty="No attempts yet."
        columns={['Time', 'Event', 'Answer', 'Latency', 'Next retry']}
        row={(a) => (
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
        )}
      />
    </section>
  );
}
