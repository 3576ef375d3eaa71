import { useEffect, useState } from 'react';
import { api, type Answer, type MailEventView, type MessageDetail } from '../api';
import { Crumbs, ErrorPanel, Loading, Notice, Problem, type NoticeView } from '../components';
import { useLoad } from '../hooks';
import { navigate } from '../router';
import { bytes, when } from '../format';
import { useLiveReload } from '../live';
import { ACTION_LABELS, actOn, type MessageAction } from '../message-actions';

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
  // An open or a click: who made it, a person or (by Herald's judgement) a machine such as a link scanner.
  if (e.type === 'opened' || e.type === 'clicked') {
    parts.push(d.machine === true ? `by a machine${typeof d.machineReason === 'string' ? ` (${d.machineReason})` : ''}` : 'by a person');
    if (typeof d.userAgent === 'string' && d.userAgent) parts.push(d.userAgent);
  }
  return parts.join(' · ');
}

type MessageContent = Answer<'/api/v1/messages/{id}/content'>;

/** The parts of the message besides its HTML: the text part, the attachments (each a download) and every header. */
function ContentParts({ id }: { id: string }) {
  const { data: content, error } = useLoad(() => api<MessageContent>('GET', `/api/v1/messages/${encodeURIComponent(id)}/content`), [id]);
  if (error) return <Problem text={`The message's headers and text are not available: ${error}`} />;
  if (!content) return <Loading />;
  return (
    <>
      <h3>Text</h3>
      {content.text === null ? <p className="muted">The message has no text part.</p> : <pre className="text-part" role="region" aria-label="Text part" tabIndex={0}>{content.text}</pre>}
      {content.attachments.length > 0 && (
        <>
          <h3>Attachments</h3>
          <ul aria-label="Attachments">
            {content.attachments.map((a, i) => (
              <li key={i}>
                {/* Always answered as a download (application/octet-stream), so nothing in it renders here. */}
                <a href={`/api/v1/messages/${encodeURIComponent(id)}/attachments/${i}`} download>
                  {a.filename ?? '(no name)'}
                </a>{' '}
                <span className="muted small">{a.mime_type} · {bytes(a.size)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Headers</h3>
      <div className="table-wrap">
        <table className="list headers" aria-label="Headers">
          <tbody>
            {content.headers.map((h, i) => (
              <tr key={i}>
                <th scope="row">{h.name}</th>
                <td className="mono">{h.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Which actions make sense for the message's recipients now (the API refuses the others with 409). */
function possibleActions(m: MessageDetail): MessageAction[] {
  const states = new Set(m.recipients.map((r) => r.state));
  const due = states.has('queued') || states.has('deferred');
  const actions: MessageAction[] = [];
  if (due) actions.push('retry', 'hold');
  if (states.has('held')) actions.push('release');
  if (due || states.has('held') || states.has('delivering')) actions.push('cancel');
  return actions;
}

export function MessagePage({ id, admin }: { id: string; admin: boolean }) {
  const { data: message, setData: setMessage, error, reload: load } = useLoad(() => api<MessageDetail>('GET', `/api/v1/messages/${encodeURIComponent(id)}`), [id]);
  const [notice, setNotice] = useState<NoticeView | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  // Another message: nothing of the last one stays on the page while it loads.
  useEffect(() => {
    setMessage(null);
    setNotice(null);
  }, [id]);
  // Attempts, deliveries, opens and clicks appear as they happen.
  useLiveReload(load, { messageId: id, enabled: !error });

  const run = async (action: MessageAction) => {
    setBusy(true);
    setConfirming(false);
    try {
      const text = await actOn(id, action);
      if (action === 'cancel') {
        navigate('/messages');
        return;
      }
      setNotice({ text });
      load();
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
    } finally {
      setBusy(false);
    }
  };

  if (error) return <ErrorPanel title="Message" error={error} back={{ href: '/messages', label: 'Back to messages' }} />;
  if (!message) return <Loading />;

  return (
    <section>
      <Crumbs href="/messages" section="Messages" here={message.id} />
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
      <div className="actions" role="group" aria-label="Message actions">
        {admin &&
          possibleActions(message)
            .filter((a) => a !== 'cancel')
            .map((a) => (
              <button key={a} type="button" disabled={busy} onClick={() => void run(a)}>
                {ACTION_LABELS[a]}
              </button>
            ))}
        {admin && possibleActions(message).includes('cancel') && !confirming && (
          <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Cancel…
          </button>
        )}
        <a className="button secondary" href={`/api/v1/messages/${encodeURIComponent(message.id)}/raw`} download>
          Download source (.eml)
        </a>
      </div>
      {confirming && (
        <div className="confirm" role="alertdialog" aria-label="Cancel this message?">
          <p>Cancel this message? It is removed from the queue: recipients still waiting will not get it, and no bounce is sent.</p>
          <button type="button" className="danger" onClick={() => void run('cancel')}>
            Yes, cancel the message
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      )}
      <Notice notice={notice} />

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
      <div className="content">
        <h3>HTML</h3>
        <p className="muted small">Shown as sent, with scripts and remote images blocked.</p>
        {/* No allow-scripts and no allow-same-origin: the mail runs nothing and cannot reach the dashboard. */}
        <iframe className="preview" title="Message content" sandbox="" referrerPolicy="no-referrer" src={`/api/v1/messages/${encodeURIComponent(message.id)}/html`} />
        <ContentParts id={message.id} />
      </div>
    </section>
  );
}
