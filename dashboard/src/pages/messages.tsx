import { useEffect, useState, type FormEvent } from 'react';
import { api, query, type Answer } from '../api';
import { Link, navigate } from '../router';
import { when } from '../format';
import { ACTION_LABELS, actOnMany, type ActionResult, type MessageAction } from '../message-actions';

const STATES = ['queued', 'deferred', 'delivering', 'held', 'delivered', 'bounced', 'expired'];

type Page = Answer<'/api/v1/messages'>;

/** datetime-local values are local times; the API wants ISO 8601. */
function toIso(local: string | null): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function MessagesPage({ search, admin }: { search: URLSearchParams; admin: boolean }) {
  const filters = {
    recipient: search.get('recipient') ?? '',
    tag: search.get('tag') ?? '',
    status: search.get('status') ?? '',
    from: search.get('from') ?? '',
    to: search.get('to') ?? '',
  };
  const cursor = search.get('cursor') ?? undefined;
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = search.toString();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkAction, setBulkAction] = useState<MessageAction>('retry');
  const [outcome, setOutcome] = useState<{ summary: string; failures: ActionResult[]; bad?: boolean } | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    setSelected(new Set());
  }, [key]);

  useEffect(() => {
    setError(null);
    const q = query({ recipient: filters.recipient, tag: filters.tag, status: filters.status, from: toIso(filters.from), to: toIso(filters.to), cursor, limit: '50' });
    api<Page>('GET', `/api/v1/messages${q}`).then(setPage, (err: Error) => {
      setPage(null);
      setError(err.message);
    });
  }, [key, reloads]);

  const toggle = (id: string) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = !!page && page.messages.length > 0 && page.messages.every((m) => selected.has(m.id));
  const toggleAll = () => setSelected(allSelected || !page ? new Set() : new Set(page.messages.map((m) => m.id)));
  const applyBulk = async () => {
    setOutcome(null);
    try {
      setOutcome(await actOnMany([...selected], bulkAction));
      setSelected(new Set());
      setReloads((n) => n + 1);
    } catch (err) {
      setOutcome({ summary: (err as Error).message, failures: [], bad: true });
    }
  };

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const params = new URLSearchParams();
    for (const [k, v] of data.entries()) if (typeof v === 'string' && v.trim()) params.set(k, v.trim());
    navigate(`/messages${params.size ? `?${params}` : ''}`);
  };
  const pageLink = (next: string) => {
    const params = new URLSearchParams(search);
    params.set('cursor', next);
    return `/messages?${params}`;
  };

  return (
    <section>
      <h1>Messages</h1>
      <form className="filters" onSubmit={submit} key={key} role="search" aria-label="Search messages">
        <label>
          Recipient
          <input name="recipient" type="email" defaultValue={filters.recipient} placeholder="ann@example.com" />
        </label>
        <label>
          Tag
          <input name="tag" defaultValue={filters.tag} placeholder="password-reset" />
        </label>
        <label>
          Status
          <select name="status" defaultValue={filters.status}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input name="from" type="datetime-local" defaultValue={filters.from} />
        </label>
        <label>
          To
          <input name="to" type="datetime-local" defaultValue={filters.to} />
        </label>
        <div className="buttons">
          <button type="submit">Search</button>
          <Link href="/messages" className="button secondary">
            Clear
          </Link>
        </div>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {admin && page && page.messages.length > 0 && (
        <div className="bulk" role="group" aria-label="Bulk actions">
          <label>
            With the selected messages
            <select value={bulkAction} onChange={(e) => setBulkAction(e.target.value as MessageAction)}>
              {(Object.keys(ACTION_LABELS) as MessageAction[]).map((a) => (
                <option key={a} value={a}>
                  {ACTION_LABELS[a]}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={selected.size === 0} onClick={() => void applyBulk()}>
            Apply to {selected.size} selected
          </button>
        </div>
      )}
      {outcome && (
        <div role={outcome.bad ? 'alert' : 'status'}>
          <p className={outcome.bad ? 'error' : 'notice'}>{outcome.summary}</p>
          {outcome.failures.length > 0 && (
            <ul className="small muted">
              {outcome.failures.slice(0, 20).map((f) => (
                <li key={f.id}>{f.error?.message ?? f.id}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {page && page.messages.length === 0 && <p className="muted">No messages match.</p>}
      {page && page.messages.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                {admin && (
                  <th scope="col" className="check">
                    <input type="checkbox" aria-label="Select every message on this page" checked={allSelected} onChange={toggleAll} />
                  </th>
                )}
                <th scope="col">Created</th>
                <th scope="col">Subject</th>
                <th scope="col">From</th>
                <th scope="col">Recipients</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {page.messages.map((m) => (
                <tr key={m.id}>
                  {admin && (
                    <td className="check">
                      <input type="checkbox" aria-label={`Select ${m.subject || m.id}`} checked={selected.has(m.id)} onChange={() => toggle(m.id)} />
                    </td>
                  )}
                  <td className="nowrap">{when(m.created_at)}</td>
                  <td>
                    <Link href={`/messages/${m.id}`}>{m.subject || '(no subject)'}</Link>
                    {m.tags.map((t) => (
                      <span key={t} className="tag">
                        {t}
                      </span>
                    ))}
                  </td>
                  <td>{m.from || '<>'}</td>
                  <td>{m.recipient_count}</td>
                  <td>
                    <span className={`status status-${m.status}`}>{m.status}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        {cursor && (
          <button type="button" className="secondary" onClick={() => history.back()}>
            ← Newer
          </button>
        )}
        {page?.next_cursor && (
          <Link className="button secondary" href={pageLink(page.next_cursor)}>
            Older →
          </Link>
        )}
      </nav>
    </section>
  );
}
