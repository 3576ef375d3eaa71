import { useEffect, useState } from 'react';
import { api, query, type Answer } from '../api';
import { Choice, ListTable, Outcome, Pager, Problem, SearchForm } from '../components';
import { useLoad } from '../hooks';
import { Link } from '../router';
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
    sender: search.get('sender') ?? '',
    subject: search.get('subject') ?? '',
    tag: search.get('tag') ?? '',
    status: search.get('status') ?? '',
    from: search.get('from') ?? '',
    to: search.get('to') ?? '',
  };
  const cursor = search.get('cursor') ?? undefined;
  const key = search.toString();
  const { data: page, error, reload } = useLoad(
    () => api<Page>('GET', `/api/v1/messages${query({ recipient: filters.recipient, sender: filters.sender, subject: filters.subject, tag: filters.tag, status: filters.status, from: toIso(filters.from), to: toIso(filters.to), cursor, limit: '50' })}`),
    [key],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkAction, setBulkAction] = useState<MessageAction>('retry');
  const [outcome, setOutcome] = useState<{ summary: string; failures: ActionResult[]; bad?: boolean } | null>(null);

  useEffect(() => {
    setSelected(new Set());
  }, [key]);

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
      reload();
    } catch (err) {
      setOutcome({ summary: (err as Error).message, failures: [], bad: true });
    }
  };

  return (
    <section>
      <h1>Messages</h1>
      <SearchForm path="/messages" label="Search messages" search={search}>
        <label>
          Recipient
          <input name="recipient" type="email" defaultValue={filters.recipient} placeholder="ann@example.com" />
        </label>
        <label>
          Sender
          {/* Text, not email: a whole domain is written @example.com. */}
          <input name="sender" defaultValue={filters.sender} placeholder="billing@example.com or @example.com" />
        </label>
        <label>
          Subject
          <input name="subject" defaultValue={filters.subject} minLength={3} placeholder="contains…" />
        </label>
        <label>
          Tag
          <input name="tag" defaultValue={filters.tag} placeholder="password-reset" />
        </label>
        <Choice label="Status" name="status" defaultValue={filters.status} any="any" options={STATES} />
        <label>
          From
          <input name="from" type="datetime-local" defaultValue={filters.from} />
        </label>
        <label>
          To
          <input name="to" type="datetime-local" defaultValue={filters.to} />
        </label>
      </SearchForm>
      <Problem text={error} />
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
      <Outcome notice={outcome && { text: outcome.summary, bad: outcome.bad, lines: outcome.failures.slice(0, 20).map((f) => f.error?.message ?? f.id) }} />
      <ListTable
        rows={page?.messages}
        empty="No messages match."
        columns={[
          admin && (
            <th scope="col" className="check">
              <input type="checkbox" aria-label="Select every message on this page" checked={allSelected} onChange={toggleAll} />
            </th>
          ),
          'Created',
          'Subject',
          'From',
          'Recipients',
          'Status',
        ]}
        row={(m) => (
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
        )}
      />
      <Pager path="/messages" search={search} next={page?.next_cursor} back="← Newer" forward="Older →" />
    </section>
  );
}
