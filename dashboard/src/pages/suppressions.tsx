import { useState, type ChangeEvent, type FormEvent } from 'react';
import { api, ApiFailure, query, type Answer } from '../api';
import { ACTIONS, Choice, ListTable, Outcome, Pager, Problem, SearchForm, type NoticeView } from '../components';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { when } from '../format';
import { csvLine, parseAddressList, type CsvAddress } from '../csv';

export type SuppressionView = Page['suppressions'][number];

type Page = Answer<'/api/v1/suppressions'>;

/** The counts of an add (the answer also lists the entries, which the page does not show). */
type AddResult = Pick<Answer<'/api/v1/suppressions', 'post'>, 'added' | 'updated' | 'unchanged'>;

const STREAMS = ['transactional', 'broadcast'];
const REASONS = ['manual', 'hard_bounce', 'complaint', 'unsubscribe', 'soft_bounces'];
/** The API takes at most this many addresses in one POST. */
const BATCH = 1000;

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
const summary = (r: AddResult) => `${plural(r.added, 'entry')} added, ${r.updated.toLocaleString()} strengthened, ${r.unchanged.toLocaleString()} already there`.replace('entrys', 'entries');

/**
 * Adds addresses in batches of 1,000 (the API's limit). A batch is all or nothing, and the API's
 * 422 names the entry it refused (`suppressions[3].address`): that one is set aside with the
 * server's words and the rest of the batch sent again.
 */
async function addInBatches(items: CsvAddress[], stream: string, onProgress: (done: number) => void): Promise<AddResult & { refused: { line: number; address: string; why: string }[] }> {
  const total: AddResult = { added: 0, updated: 0, unchanged: 0 };
  const refused: { line: number; address: string; why: string }[] = [];
  for (let from = 0; from < items.length; from += BATCH) {
    let batch = items.slice(from, from + BATCH);
    while (batch.length > 0) {
      try {
        const r = await api<AddResult>('POST', '/api/v1/suppressions', { suppressions: batch.map((b) => ({ address: b.address, stream, reason: 'manual' })) });
        total.added += r.added;
        total.updated += r.updated;
        total.unchanged += r.unchanged;
        break;
      } catch (err) {
        const at = err instanceof ApiFailure && err.status === 422 ? /^suppressions\[(\d+)\]/.exec(err.field ?? '') : null;
        if (!at) throw err;
        const bad = Number(at[1]);
        refused.push({ line: batch[bad].line, address: batch[bad].address, why: (err as ApiFailure).message });
        batch = batch.filter((_, i) => i !== bad);
      }
    }
    onProgress(Math.min(items.length, from + BATCH));
  }
  return { ...total, refused };
}

export function SuppressionsPage({ search, admin }: { search: URLSearchParams; admin: boolean }) {
  const filters = { search: search.get('search') ?? '', stream: search.get('stream') ?? '', reason: search.get('reason') ?? '' };
  const cursor = search.get('cursor') ?? undefined;
  const { data: page, error, reload } = useLoad(() => api<Page>('GET', `/api/v1/suppressions${query({ ...filters, cursor, limit: '100' })}`), [search.toString()]);
  const [notice, setNotice] = useState<NoticeView | null>(null);
  const [progress, setProgress] = useState<{ label: string; done: number; total: number } | null>(null);

  const add = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const addresses = String(data.get('addresses'))
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map((address, i) => ({ line: i + 1, address }));
    setNotice(null);
    if (addresses.length === 0) {
      setNotice({ text: 'Type at least one address.', bad: true });
      return;
    }
    try {
      const r = await addInBatches(addresses, String(data.get('stream')), () => {});
      const bad = r.refused.map((x) => `${x.address}: ${x.why}`);
      setNotice({ text: `Suppressed: ${summary(r)}.${bad.length ? ` ${plural(bad.length, 'address')} refused:`.replace('addresss', 'addresses') : ''}`, bad: bad.length > 0, lines: bad });
      if (!bad.length) form.reset();
      reload();
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
    }
  };

  const remove = async (s: SuppressionView) => {
    if (!window.confirm(`Remove ${s.address} from the ${s.stream} stream's list? Herald sends to it again.`)) return;
    try {
      await api('DELETE', `/api/v1/suppressions/${encodeURIComponent(s.address)}?stream=${s.stream}`);
      setNotice({ text: `Removed ${s.address} (${s.stream}).` });
      reload();
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
    }
  };

  /** Every entry matching the current search, read page by page (1,000 at a time), as one CSV file. */
  const exportCsv = async () => {
    setNotice(null);
    const lines = [csvLine(['address', 'stream', 'reason', 'created_at', 'expires_at', 'message_id', 'detail'])];
    let next: string | null | undefined;
    let n = 0;
    try {
      do {
        const p: Page = await api<Page>('GET', `/api/v1/suppressions${query({ ...filters, cursor: next ?? undefined, limit: '1000' })}`);
        for (const s of p.suppressions) lines.push(csvLine([s.address, s.stream, s.reason, s.created_at, s.expires_at, s.message_id, s.detail]));
        n += p.suppressions.length;
        setProgress({ label: 'Exporting', done: n, total: 0 });
        next = p.next_cursor;
      } while (next);
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
      return;
    } finally {
      setProgress(null);
    }
    const url = URL.createObjectURL(new Blob(lines, { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `suppressions-${new Date().toISOString().slice(0, 10)}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setNotice({ text: `Exported ${plural(n, 'entry')}.`.replace('entrys', 'entries') });
  };

  const importCsv = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const file = data.get('file');
    if (!(file instanceof File) || file.size === 0) {
      setNotice({ text: 'Choose a CSV file first.', bad: true });
      return;
    }
    setNotice(null);
    const parsed = parseAddressList(await file.text());
    setProgress({ label: `Importing ${file.name}`, done: 0, total: parsed.addresses.length });
    try {
      const r = await addInBatches(parsed.addresses, String(data.get('stream')), (done) => setProgress({ label: `Importing ${file.name}`, done, total: parsed.addresses.length }));
      const bad = [...parsed.empty.map((x) => `line ${x.line}: no address in "${x.text}"`), ...r.refused.map((x) => `line ${x.line}: ${x.why}`)];
      setNotice({
        text: `Imported ${file.name}: ${plural(parsed.addresses.length - r.refused.length, 'address')} — ${summary(r)}.${bad.length ? ` ${plural(bad.length, 'line')} not imported:` : ''}`.replace('addresss', 'addresses'),
        bad: bad.length > 0,
        lines: bad.slice(0, 50),
      });
      form.reset();
      reload();
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
    } finally {
      setProgress(null);
    }
  };
  const fileChosen = (e: ChangeEvent<HTMLInputElement>) => {
    if (e.target.files?.length) setNotice(null);
  };

  return (
    <section>
      <h1>Suppressions</h1>
      <p className="muted">
        Addresses Herald does not send to: hard bounces, complaints, unsubscribes, repeated soft bounces and the ones you add. Each entry is for one stream.
      </p>
      <SearchForm
        path="/suppressions"
        label="Search suppressions"
        search={search}
        extra={
          <button type="button" className="secondary" onClick={() => void exportCsv()} disabled={!!progress}>
            Export CSV
          </button>
        }
      >
        <label>
          Address contains
          <input name="search" defaultValue={filters.search} placeholder="example.com" />
        </label>
        <Choice label="Stream" name="stream" defaultValue={filters.stream} any="both" options={STREAMS} />
        <Choice label="Reason" name="reason" defaultValue={filters.reason} any="any" options={REASONS} />
      </SearchForm>

      {admin && (
        <div className="panels">
          <form className="panel" onSubmit={(e) => void add(e)} aria-label="Add suppressions">
            <h2>Add addresses</h2>
            <label>
              Addresses
              <textarea name="addresses" rows={3} placeholder={'ann@example.com\nbob@example.net'} />
            </label>
            <Choice label="Stream" name="stream" defaultValue="all" any="both streams" anyValue="all" options={STREAMS} />
            <button type="submit" disabled={!!progress}>
              Suppress
            </button>
          </form>
          <form className="panel" onSubmit={(e) => void importCsv(e)} aria-label="Import a CSV file">
            <h2>Import a CSV file</h2>
            <p className="small muted">One address per line, or a header with an email column (exports of other providers and spreadsheets). Reason: manual.</p>
            <label>
              CSV file
              <input name="file" type="file" accept=".csv,.txt,text/csv,text/plain" onChange={fileChosen} />
            </label>
            <Choice label="Stream" name="stream" defaultValue="all" any="both streams" anyValue="all" options={STREAMS} />
            <button type="submit" disabled={!!progress}>
              Import
            </button>
          </form>
        </div>
      )}

      {progress && (
        <div role="status" className="progress">
          <label>
            {progress.label}: {progress.done.toLocaleString()}
            {progress.total ? ` of ${progress.total.toLocaleString()}` : ''}
            {progress.total ? <progress max={progress.total} value={progress.done} /> : <progress />}
          </label>
        </div>
      )}
      <Outcome notice={notice} />
      <Problem text={error} />

      <ListTable
        rows={page?.suppressions}
        label="Suppressed addresses"
        empty="No suppressed addresses match."
        columns={['Address', 'Stream', 'Reason', 'Since', 'Expires', 'Why', admin && ACTIONS]}
        row={(s) => (
          <tr key={`${s.address} ${s.stream}`}>
            <td className="mono">{s.address}</td>
            <td>{s.stream}</td>
            <td>
              <span className="tag">{s.reason}</span>
            </td>
            <td className="nowrap">{when(s.created_at)}</td>
            <td className="nowrap">{s.expires_at ? when(s.expires_at) : 'never'}</td>
            <td className="small">
              {s.detail}
              {s.message_id && (
                <>
                  {s.detail ? ' · ' : ''}
                  <Link href={`/messages/${s.message_id}`}>the message</Link>
                </>
              )}
            </td>
            {admin && (
              <td>
                <button type="button" className="secondary small" onClick={() => void remove(s)}>
                  Remove<span className="visually-hidden"> {s.address} ({s.stream})</span>
                </button>
              </td>
            )}
          </tr>
        )}
      />
      <Pager path="/suppressions" search={search} next={page?.next_cursor} back="← Back" forward="Next →" />
    </section>
  );
}
