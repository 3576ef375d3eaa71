import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiFailure, type Answer, type Schema } from '../api';
import { ACTIONS, Crumbs, ErrorPanel, ListTable, Loading, LoadMore, Notice, Problem, type NoticeView } from '../components';
import { Link, navigate } from '../router';
import { when } from '../format';

export type TemplateView = Schema<'Template'>;

type Preview = Answer<'/api/v1/templates/preview', 'post'>;

type Draft = { name: string; alias: string; subject: string; html: string; text: string; required: string };

const EMPTY: Draft = { name: '', alias: '', subject: '', html: '', text: '', required: '' };
const SAMPLE = '{\n  "user": { "name": "Ann" }\n}';
/** The sample data last typed, kept while the app is open (creating a template opens its page). */
let lastSample = SAMPLE;
/** How long typing pauses before the preview renders again. */
const PREVIEW_DELAY_MS = 400;

const draftOf = (t: TemplateView): Draft => ({
  name: t.name ?? '',
  alias: t.alias ?? '',
  subject: t.subject ?? '',
  html: t.html ?? '',
  text: t.text ?? '',
  required: t.required.join(', '),
});

/** The parts as the API takes them: empty is null (no such part). */
function body(d: Draft) {
  const part = (v: string) => (v === '' ? null : v);
  return {
    subject: part(d.subject),
    html: part(d.html),
    text: part(d.text),
    required: d.required
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  };
}

export function TemplatesPage({ admin }: { admin: boolean }) {
  const [templates, setTemplates] = useState<TemplateView[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback((cursor?: string) => {
    api<{ templates: TemplateView[]; next_cursor: string | null }>('GET', `/api/v1/templates?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).then(
      (r) => {
        setTemplates((old) => (cursor && old ? [...old, ...r.templates] : r.templates));
        setNext(r.next_cursor);
      },
      (err: Error) => setError(err.message),
    );
  }, []);
  useEffect(() => load(), [load]);

  return (
    <section>
      <h1>Templates</h1>
      <p className="muted">
        Handlebars templates for the subject, HTML and text of a message; send with <code>{'"template": { "alias": …, "data": {…} }'}</code>. Every save is a new version.
      </p>
      {admin && (
        <p>
          <Link className="button" href="/templates/new">
            New template
          </Link>
        </p>
      )}
      <Problem text={error} />
      <ListTable
        rows={templates}
        label="Templates"
        empty="No templates yet."
        columns={['Name', 'Alias', 'Version', 'Subject', 'Changed']}
        row={(t) => (
          <tr key={t.id}>
            <td>
              <Link href={`/templates/${encodeURIComponent(t.id)}`}>{t.name || t.alias || t.id}</Link>
            </td>
            <td className="mono">{t.alias ?? '–'}</td>
            <td>{t.version}</td>
            <td className="mono small">{t.subject ?? ''}</td>
            <td className="nowrap">{when(t.updated_at)}</td>
          </tr>
        )}
      />
      <LoadMore next={next} onMore={load} />
    </section>
  );
}

/** The editor: `id` null for a new template. */
export function TemplatePage({ id, admin }: { id: string | null; admin: boolean }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [sample, setSampleState] = useState(lastSample);
  const setSample = (text: string) => {
    lastSample = text;
    setSampleState(text);
  };
  const [current, setCurrent] = useState<TemplateView | null>(null);
  const [shownVersion, setShownVersion] = useState<number | null>(null);
  const [versions, setVersions] = useState<TemplateView[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<{ text: string; field?: string } | null>(null);
  const [notice, setNotice] = useState<NoticeView | null>(null);
  const [saving, setSaving] = useState(false);
  const renders = useRef(0);

  const load = useCallback(() => {
    if (!id) return;
    const path = `/api/v1/templates/${encodeURIComponent(id)}`;
    api<TemplateView>('GET', path).then(
      (t) => {
        setCurrent(t);
        setShownVersion(t.version);
        setDraft(draftOf(t));
      },
      (err: Error) => setLoadError(err.message),
    );
    api<{ versions: TemplateView[] }>('GET', `${path}/versions`).then((r) => setVersions(r.versions), () => {});
  }, [id]);
  useEffect(() => {
    setDraft(EMPTY);
    setCurrent(null);
    setVersions([]);
    setNotice(null);
    load();
  }, [load]);

  // The live preview: rendered by Herald, as a send would render it, a moment after typing stops.
  useEffect(() => {
    const mine = ++renders.current;
    if (!draft.subject && !draft.html && !draft.text) {
      setPreview(null);
      setProblem(null);
      return;
    }
    const timer = setTimeout(async () => {
      let data: unknown;
      try {
        data = sample.trim() ? JSON.parse(sample) : {};
      } catch (err) {
        setProblem({ text: `Sample data: ${(err as Error).message}`, field: 'data' });
        return;
      }
      try {
        const p = await api<Preview>('POST', '/api/v1/templates/preview', { template: body(draft), data });
        if (mine !== renders.current) return;
        setPreview(p);
        setProblem(null);
      } catch (err) {
        if (mine !== renders.current) return;
        const f = err instanceof ApiFailure ? err.field?.replace(/^template\./, '') : undefined;
        setProblem({ text: (err as Error).message, field: f });
      }
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft, sample]);

  const set = (k: keyof Draft) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));

  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaving(true);
    setNotice(null);
    const input = { ...body(draft), name: draft.name.trim() || null, alias: draft.alias.trim() || null };
    try {
      if (!id) {
        const created = await api<TemplateView>('POST', '/api/v1/templates', input);
        navigate(`/templates/${encodeURIComponent(created.id)}`, { replace: true });
        return;
      }
      const saved = await api<TemplateView>('PUT', `/api/v1/templates/${encodeURIComponent(id)}`, input);
      setNotice({ text: `Saved as version ${saved.version}.` });
      load();
    } catch (err) {
      const f = err instanceof ApiFailure ? err.field : undefined;
      setNotice({ text: (err as Error).message, bad: true });
      if (f) setProblem({ text: (err as Error).message, field: f });
    } finally {
      setSaving(false);
    }
  };

  const open = async (version: number) => {
    if (!id) return;
    try {
      const t = await api<TemplateView>('GET', `/api/v1/templates/${encodeURIComponent(id)}?version=${version}`);
      setDraft(draftOf(t));
      setShownVersion(version);
      setNotice({ text: `Version ${version} is in the editor; save it to make it the latest again.` });
    } catch (err) {
      setNotice({ text: (err as Error).message, bad: true });
    }
  };

  if (loadError) return <ErrorPanel title="Template" error={loadError} back={{ href: '/templates', label: 'Back to templates' }} />;
  if (id && !current) return <Loading />;

  const invalid = (f: string) => (problem?.field === f ? true : undefined);
  const title = current ? current.name || current.alias || current.id : 'New template';

  return (
    <section>
      <Crumbs href="/templates" section="Templates" here={current ? current.id : 'new'} />
      <h1>
        {title}
        {current && <span className="tag">version {current.version}</span>}
      </h1>
      <div className="editor">
        <form onSubmit={(e) => void save(e)} aria-label="Template">
          <label>
            Name
            <input value={draft.name} onChange={set('name')} placeholder="Welcome mail" readOnly={!admin} />
          </label>
          <label>
            Alias
            <input value={draft.alias} onChange={set('alias')} placeholder="welcome" readOnly={!admin} aria-invalid={invalid('alias')} />
          </label>
          <label>
            Subject
            <input value={draft.subject} onChange={set('subject')} placeholder="Welcome, {{user.name}}!" className="mono" readOnly={!admin} aria-invalid={invalid('subject')} />
          </label>
          <label>
            HTML
            <textarea value={draft.html} onChange={set('html')} rows={10} spellCheck={false} readOnly={!admin} aria-invalid={invalid('html')} />
          </label>
          <label>
            Text
            <textarea value={draft.text} onChange={set('text')} rows={5} spellCheck={false} readOnly={!admin} aria-invalid={invalid('text')} />
          </label>
          <label>
            Required variables (comma-separated)
            <input value={draft.required} onChange={set('required')} placeholder="user.name" className="mono" readOnly={!admin} />
          </label>
          {admin && (
            <div className="actions">
              <button type="submit" disabled={saving}>
                {id ? 'Save as a new version' : 'Create template'}
              </button>
            </div>
          )}
          <Notice notice={notice} />
        </form>
        <div>
          <label>
            Sample data (JSON)
            <textarea value={sample} onChange={(e) => setSample(e.target.value)} rows={5} spellCheck={false} aria-invalid={invalid('data')} />
          </label>
          <h2>Preview</h2>
          {problem ? (
            <p className="source-error" role="alert" aria-label="Template problem">
              {problem.text}
            </p>
          ) : (
            <p className="muted small">Rendered by Herald as a send would render it; scripts and remote images are blocked.</p>
          )}
          {preview && (
            <>
              <dl className="facts">
                <dt>Subject</dt>
                <dd data-testid="preview-subject">{preview.subject ?? '–'}</dd>
              </dl>
              {/* No allow-scripts and no allow-same-origin, as for a stored message: the HTML can run nothing and reach nothing. */}
              {preview.html_url && <iframe className="preview" title="HTML preview" sandbox="" referrerPolicy="no-referrer" src={preview.html_url} />}
              {preview.text !== null && (
                <>
                  <h3>Text</h3>
                  <pre className="mono small" data-testid="preview-text">
                    {preview.text}
                  </pre>
                </>
              )}
            </>
          )}
        </div>
      </div>

      {versions.length > 0 && (
        <>
          <h2>Versions</h2>
          <ListTable
            rows={versions}
            label="Versions"
            columns={['Version', 'Made', 'Subject', ACTIONS]}
            row={(v) => (
              <tr key={v.version}>
                <td>
                  {v.version}
                  {v.version === current?.version ? ' (latest)' : ''}
                </td>
                <td className="nowrap">{when(v.updated_at)}</td>
                <td className="mono small">{v.subject ?? ''}</td>
                <td>
                  <button type="button" className="secondary small" disabled={shownVersion === v.version} onClick={() => void open(v.version)}>
                    Open<span className="visually-hidden"> version {v.version}</span>
                  </button>
                </td>
              </tr>
            )}
          />
        </>
      )}
    </section>
  );
}
