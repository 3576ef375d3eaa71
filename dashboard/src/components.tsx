/**
 * The pieces every page writes the same way: an error line, the loading line, the answer to a
 * user who is not an admin, notices, list tables, search forms and pagers. One markup for each
 * keeps the roles and labels the pages (and their browser tests) rely on alike everywhere.
 */

import { Fragment, isValidElement, type FormEvent, type ReactNode } from 'react';
import { CopyButton } from './copy-button';
import { Link, navigate } from './router';

/** An error line, read out at once; nothing when there is no error. */
export function Problem({ text, id }: { text: string | null | undefined; id?: string }) {
  if (!text) return null;
  return (
    <p className="error" id={id} role="alert">
      {text}
    </p>
  );
}

export function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}

/** A page whose thing could not be loaded: its title, why, and the way back to its list. */
export function ErrorPanel({ title, error, back }: { title: string; error: string; back?: { href: string; label: string } }) {
  return (
    <section>
      <h1>{title}</h1>
      <Problem text={error} />
      {back && <Link href={back.href}>{back.label}</Link>}
    </section>
  );
}

/** What a page managed only by the account's admins shows everyone else. */
export function AdminOnly({ title, what }: { title: string; what: string }) {
  return (
    <section>
      <h1>{title}</h1>
      <p className="muted">{what} are managed by the account's admins.</p>
    </section>
  );
}

export type NoticeView = { text: string; bad?: boolean; lines?: string[] };

/** The outcome of an action: a status line, or an alert when it went wrong. */
export function Notice({ notice }: { notice: NoticeView | null }) {
  if (!notice) return null;
  return (
    <p className={notice.bad ? 'error' : 'notice'} role={notice.bad ? 'alert' : 'status'}>
      {notice.text}
    </p>
  );
}

/** The outcome of an action on many things, with a line for each that did not go through. */
export function Outcome({ notice }: { notice: NoticeView | null }) {
  if (!notice) return null;
  return (
    <div role={notice.bad ? 'alert' : 'status'}>
      <p className={notice.bad ? 'error' : 'notice'}>{notice.text}</p>
      {notice.lines && notice.lines.length > 0 && (
        <ul className="small muted">
          {notice.lines.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A secret shown once, right after it was made, with a copy button. */
export function SecretShown({ title, note, field, value, copyLabel }: { title: string; note: ReactNode; field: string; value: string; copyLabel: string }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>{title}</strong> — {note}
      </p>
      <div className="field">
        <span className="label">{field}</span>
        <code>{value}</code>
        <CopyButton text={value} label={copyLabel} />
      </div>
    </div>
  );
}

/** The header of a column of row buttons: named for screen readers only. */
export const ACTIONS = (
  <th scope="col">
    <span className="visually-hidden">Actions</span>
  </th>
);

/**
 * A list as a table: nothing while `rows` is still loading, `empty` (when given) for no rows.
 * A column is its title, or a whole `<th>` where the header holds more than words; `false`
 * leaves a column out.
 */
export function ListTable<T>({ rows, label, empty, columns, row }: { rows: T[] | null | undefined; label?: string; empty?: string; columns: (ReactNode | false)[]; row: (item: T) => ReactNode }) {
  if (!rows) return null;
  if (rows.length === 0 && empty !== undefined) return <p className="muted">{empty}</p>;
  return (
    <div className="table-wrap">
      <table className="list" aria-label={label}>
        <thead>
          <tr>
            {columns.map((c, i) =>
              c === false ? null : isValidElement(c) ? (
                <Fragment key={i}>{c}</Fragment>
              ) : (
                <th scope="col" key={i}>
                  {c}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{rows.map(row)}</tbody>
      </table>
    </div>
  );
}

/** Where a page about one thing sits: its section's list, then the thing. */
export function Crumbs({ href, section, here }: { href: string; section: string; here: string }) {
  return (
    <p className="crumbs">
      <Link href={href}>{section}</Link> / {here}
    </p>
  );
}

/** A field that picks one of `options`, or the first choice, `any` (for a search: no filter, value ''). */
export function Choice({ label, name, defaultValue, any, anyValue = '', options }: { label: string; name: string; defaultValue: string; any: string; anyValue?: string; options: readonly string[] }) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={defaultValue}>
        <option value={anyValue}>{any}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * The search form of a list kept in the address (`path?field=…`): searching opens the address
 * with the form's filled fields, Clear the bare list. Keyed by the search, so going back and
 * forth shows the fields of that search.
 */
export function SearchForm({ path, label, search, extra, children }: { path: string; label: string; search: URLSearchParams; extra?: ReactNode; children: ReactNode }) {
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(e.currentTarget).entries()) if (typeof v === 'string' && v.trim()) params.set(k, v.trim());
    navigate(`${path}${params.size ? `?${params}` : ''}`);
  };
  return (
    <form className="filters" onSubmit={submit} key={search.toString()} role="search" aria-label={label}>
      {children}
      <div className="buttons">
        <button type="submit">Search</button>
        <Link href={path} className="button secondary">
          Clear
        </Link>
        {extra}
      </div>
    </form>
  );
}

/** Pages of a list kept in the address: back through history, on to the `cursor` the API answered. */
export function Pager({ path, search, next, back, forward }: { path: string; search: URLSearchParams; next: string | null | undefined; back: string; forward: string }) {
  const href = (cursor: string) => {
    const params = new URLSearchParams(search);
    params.set('cursor', cursor);
    return `${path}?${params}`;
  };
  return (
    <nav className="pager" aria-label="Pages">
      {search.get('cursor') && (
        <button type="button" className="secondary" onClick={() => history.back()}>
          {back}
        </button>
      )}
      {next && (
        <Link className="button secondary" href={href(next)}>
          {forward}
        </Link>
      )}
    </nav>
  );
}

/** The footer of a list read a page at a time into the same table. */
export function LoadMore({ next, onMore }: { next: string | null; onMore: (cursor: string) => void }) {
  if (!next) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="secondary" onClick={() => onMore(next)}>
        More
      </button>
    </nav>
  );
}
