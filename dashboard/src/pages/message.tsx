import { useEffect, useState } from 'react';
import { api, type MailEventView, type MessageDetail } from '../api';
import { Link } from '../router';
import { bytes, when } from '../format';

/** What an event adds to its line in the timeline: the remote host and its reply, a link, a reason. */
function eventDetail(e: MailEventView): string {
  const d = e.data as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['host', 'mx', 'reply', 'response', 'url', 'reason', 'type', 'detail']) {
    const v = d[k];
    if (typeof v === 'string' && v) parts.push(v);
    else if (v && typeof v === 'object' && 'text' in v) {
      const reply = v as { code?: number; enhanced?: string; text: string };
      parts.push([reply.code, reply.enhanced, reply.text].filter(Boolean).join(' '));
    }
  }
  return parts.join(' · ');
}

export function MessagePage({ id }: { id: string }) {
  const [message, setMessage] = useState<MessageDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setMessage(null);
    api<MessageDetail>('GET', `/api/v1/messages/${encodeURIComponent(id)}`).then(setMessage, (err: Error) => setError(err.message));
  }, [id]);

  if (error)
    return (
      <section>
        <h1>Message</h1>
        <p className="error" role="alert">
          {error}
        </p>
        <Link href="/messages">Back to messages</Link>
      </section>
    );
  if (!message) return <p className="loading" role="status">Loading…</p>;

  return (
    <section>
      <p className="crumbs">
        <Link href="/messages">Messages</Link> / {message.id}
      </p>
      <h1>{message.subject || '(no subject)'}</h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`status status-${message.status}`}>{message.status}</span>
        </dd>
        <dt>From</dt>
        <dd>{message.from || '<>'}</dd>
        <dt>Created</dt>
        <dd>{when(message.created_at)}</dd>
        <dt>Size</dt>
        <dd>{bytes(message.size)}</dd>
        <dt>Stream</dt>
        <dd>{message.stream}</dd>
        {message.tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>{message.tags.join(', ')}</dd>
          </>
        )}
        {message.message_id_header && (
          <>
            <dt>Message-ID</dt>
            <dd className="mono">{message.message_id_header}</dd>
          </>
        )}
      </dl>
      <p>
        <a className="button secondary" href={`/api/v1/messages/${encodeURIComponent(message.id)}/raw`} download>
          Download source (.eml)
        </a>
      </p>

      <h2>Recipients</h2>
      {message.recipients.map((r) => {
        const events = message.events.filter((e) => e.recipient === r.address || e.recipient === null);
        return (
          <article key={r.address} className="recipient">
            <h3>
              {r.address} <span className={`status status-${r.state}`}>{r.state}</span>
            </h3>
            <p className="muted small">
              {r.attempts} attempt{r.attempts === 1 ? '' : 's'}
              {r.next_attempt_at ? ` · next ${when(r.next_attempt_at)}` : ''}
              {r.last_reply ? ` · last reply: ${r.last_reply}` : ''}
            </p>
            <ol className="timeline" aria-label={`Timeline of ${r.address}`}>
              {events.map((e, i) => (
                <li key={`${e.seq ?? i}-${e.type}`} data-event={e.type}>
                  <span className={`event event-${e.type}`}>{e.type}</span> <time dateTime={e.at}>{when(e.at)}</time>
                  {eventDetail(e) && <span className="detail"> {eventDetail(e)}</span>}
                </li>
              ))}
            </ol>
          </article>
        );
      })}

      <h2>Content</h2>
      <p className="muted small">Shown as sent, with scripts and remote images blocked.</p>
      {/* No allow-scripts and no allow-same-origin: the mail runs nothing and cannot reach the dashboard. */}
      <iframe className="preview" title="Message content" sandbox="" referrerPolicy="no-referrer" src={`/api/v1/messages/${encodeURIComponent(message.id)}/html`} />
    </section>
  );
}
