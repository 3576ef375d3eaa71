import { invalidContent, systemClock, type Clock } from '../core/index.js';
import { migrate, type SqliteDatabase } from '../storage/index.js';
import { compileTemplate } from './handlebars-compile.js';
import { checkAlias, isTemplateId, newTemplateId, normalizeAlias } from './template-ids.js';
import { TEMPLATE_PARTS, type TemplateHead, type TemplateInput, type TemplatePage, type TemplateSource, type TemplateView } from './types.js';

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      -- One row per template: identity, alias and which version is the latest. Deleting sets
      -- deleted_at; the versions stay, so a sent message's template id and version still mean something.
      CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        alias TEXT,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER
      );
      -- An alias is unique among the account's live templates, so a deleted template's alias can be reused.
      CREATE UNIQUE INDEX templates_live_alias ON templates (account_id, alias) WHERE deleted_at IS NULL AND alias IS NOT NULL;
      -- Newest-first listing: ids are time-ordered.
      CREATE INDEX templates_live_by_account ON templates (account_id, id) WHERE deleted_at IS NULL;
      -- Versions are written once and never changed.
      CREATE TABLE template_versions (
        template_id TEXT NOT NULL REFERENCES templates(id),
        version INTEGER NOT NULL,
        name TEXT,
        subject TEXT,
        html TEXT,
        text TEXT,
        required TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (template_id, version)
      );
    `,
  },
];

export const MAX_LIST_LIMIT = 100;
const MAX_NAME_LENGTH = 200;
/** Attempts at an update that races other updates of the same template. */
const UPDATE_ATTEMPTS = 5;

interface Row {
  id: string;
  alias: string | null;
  created_at: number;
  version: number;
  name: string | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  required: string;
  version_created_at: number;
}

function toView(row: Row): TemplateView {
  return {
    id: row.id,
    alias: row.alias,
    name: row.name,
    version: row.version,
    subject: row.subject,
    html: row.html,
    text: row.text,
    required: JSON.parse(row.required) as string[],
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.version_created_at),
  };
}

/** The stored fields of one version, after checks. */
interface Content {
  alias: string | null;
  name: string | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  required: string[];
}

/**
 * Merges a create input or an update patch onto the previous version (a left-out field keeps its
 * value, null or '' clears it), checks every field and compiles every part.
 */
function prepare(base: Content | undefined, input: TemplateInput): Content {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidContent('template', 'a template must be a JSON object with subject, html or text');
  }
  // Types are checked below (and by the compiler for the parts): the input is a JSON body.
  const pick = (key: keyof Content): unknown => {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined) return base ? base[key] : null;
    return value === '' ? null : value;
  };
  const alias = pick('alias');
  const name = pick('name');
  if (name !== null && typeof name !== 'string') throw invalidContent('name', 'the name must be text');
  const trimmedName = (name as string | null)?.trim() || null;
  if (trimmedName && ([...trimmedName].length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmedName))) {
    throw invalidContent('name', `the name must be one line of at most ${MAX_NAME_LENGTH} characters`);
  }
  const content: Content = {
    alias: alias === null ? null : checkAlias(alias),
    name: trimmedName,
    subject: pick('subject') as string | null,
    html: pick('html') as string | null,
    text: pick('text') as string | null,
    required: [],
  };
  const required = input.required === undefined ? base?.required : input.required;
  // Compiling is the check: it throws invalidContent naming the part, line and column.
  content.required = compileTemplate({ ...content, required }).required;
  return content;
}

/**
 * Stored templates per account, with every version kept. Everything is scoped by account: an
 * id or alias of another account's template is simply not found.
 */
export class SqliteTemplateStore implements TemplateSource {
  private readonly clock: Clock;
  private readonly stmts;

  constructor(
    private readonly db: SqliteDatabase,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    migrate(db, 'templates', MIGRATIONS);
    const columns =
      't.id, t.alias, t.created_at, v.version, v.name, v.subject, v.html, v.text, v.required, v.created_at AS version_created_at';
    const latest = 'FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.version';
    this.stmts = {
      headById: db.prepare('SELECT id, alias, version FROM templates WHERE account_id = ? AND id = ? AND deleted_at IS NULL'),
      headByAlias: db.prepare('SELECT id, alias, version FROM templates WHERE account_id = ? AND alias = ? AND deleted_at IS NULL'),
      version: db.prepare(`SELECT ${columns} FROM templates t JOIN template_versions v ON v.template_id = t.id WHERE t.id = ? AND v.version = ?`),
      versions: db.prepare(`SELECT ${columns} FROM templates t JOIN template_versions v ON v.template_id = t.id WHERE t.id = ? ORDER BY v.version DESC`),
      firstPage: db.prepare(`SELECT ${columns} ${latest} WHERE t.account_id = ? AND t.deleted_at IS NULL ORDER BY t.id DESC LIMIT ?`),
      nextPage: db.prepare(`SELECT ${columns} ${latest} WHERE t.account_id = ? AND t.deleted_at IS NULL AND t.id < ? ORDER BY t.id DESC LIMIT ?`),
      insertTemplate: db.prepare('INSERT INTO templates (id, account_id, alias, version, created_at) VALUES (@id, @accountId, @alias, 1, @now)'),
      insertVersion: db.prepare(
        'INSERT INTO template_versions (template_id, version, name, subject, html, text, required, created_at) VALUES (@id, @version, @name, @subject, @html, @text, @required, @now)',
      ),
      // Moves to the next version only from the version the update was based on.
      advance: db.prepare('UPDATE templates SET version = @version, alias = @alias WHERE id = @id AND version = @base AND deleted_at IS NULL'),
      delete: db.prepare('UPDATE templates SET deleted_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL'),
    };
  }

  create(accountId: string, input: TemplateInput): TemplateView {
    checkAccountId(accountId);
    const content = prepare(undefined, input);
    const now = this.clock.now().getTime();
    const id = newTemplateId(now);
    this.write(() => {
      this.checkAliasFree(accountId, content.alias, id);
      this.stmts.insertTemplate.run({ id, accountId, alias: content.alias, now });
      this.stmts.insertVersion.run(versionRow(id, 1, content, now));
    }, content.alias);
    return { id, ...content, version: 1, createdAt: new Date(now), updatedAt: new Date(now) };
  }

  /** Saves a new version from the latest one and the patch; null when there is no such template. */
  update(accountId: string, idOrAlias: string, patch: TemplateInput): TemplateView | null {
    for (let attempt = 1; ; attempt++) {
      const current = this.get(accountId, idOrAlias);
      if (!current) return null;
      // Compiled outside the write transaction: a large template takes a while, and the
      // database has one writer (the queue) that must not wait for it.
      const content = prepare(current, patch);
      const version = current.version + 1;
      const now = this.clock.now().getTime();
      const saved = this.write(() => {
        this.checkAliasFree(accountId, content.alias, current.id);
        if (this.stmts.advance.run({ id: current.id, base: current.version, version, alias: content.alias }).changes === 0) return false;
        this.stmts.insertVersion.run(versionRow(current.id, version, content, now));
        return true;
      }, content.alias);
      if (saved) return { id: current.id, ...content, version, createdAt: current.createdAt, updatedAt: new Date(now) };
      // Another update (or a delete) got there first: start again from what is there now.
      if (attempt >= UPDATE_ATTEMPTS) throw new Error(`template ${current.id} kept changing during the update; try again`);
    }
  }

  /** The latest version, or the given one; null when the template does not exist (or is deleted). */
  get(accountId: string, idOrAlias: string, version?: number): TemplateView | null {
    const head = this.head(accountId, idOrAlias);
    if (!head) return null;
    const wanted = version ?? head.version;
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > head.version) return null;
    const row = this.stmts.version.get(head.id, wanted) as Row | undefined;
    return row ? toView(row) : null;
  }

  /** The live template's id, alias and latest version, without its content. */
  head(accountId: string, idOrAlias: string): TemplateHead | null {
    if (typeof idOrAlias !== 'string' || idOrAlias === '') return null;
    const row = isTemplateId(idOrAlias)
      ? this.stmts.headById.get(accountId, idOrAlias)
      : this.stmts.headByAlias.get(accountId, normalizeAlias(idOrAlias));
    return (row as TemplateHead | undefined) ?? null;
  }

  /** The account's live templates at their latest version, newest first. */
  list(accountId: string, options: { limit: number; cursor?: string | null }): TemplatePage {
    const { limit, cursor } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw invalidContent('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (cursor !== undefined && cursor !== null && (typeof cursor !== 'string' || !isTemplateId(cursor))) {
      throw invalidContent('cursor', 'this cursor is not one the template list gave out');
    }
    // One row more than asked tells whether there is a next page.
    const rows = (cursor ? this.stmts.nextPage.all(accountId, cursor, limit + 1) : this.stmts.firstPage.all(accountId, limit + 1)) as Row[];
    const templates = rows.slice(0, limit).map(toView);
    return { templates, nextCursor: rows.length > limit ? templates[templates.length - 1].id : null };
  }

  /** Every version of the template, newest first; null when there is no such template. */
  versions(accountId: string, idOrAlias: string): TemplateView[] | null {
    const head = this.head(accountId, idOrAlias);
    if (!head) return null;
    return (this.stmts.versions.all(head.id) as Row[]).map(toView);
  }

  /** Deletes the template (all versions); its alias is free at once. False when there was none. */
  delete(accountId: string, idOrAlias: string): boolean {
    const head = this.head(accountId, idOrAlias);
    if (!head) return false;
    return this.stmts.delete.run(this.clock.now().getTime(), accountId, head.id).changes > 0;
  }

  private checkAliasFree(accountId: string, alias: string | null, selfId: string): void {
    if (alias === null) return;
    const holder = this.stmts.headByAlias.get(accountId, alias) as TemplateHead | undefined;
    if (holder && holder.id !== selfId) throw aliasTaken(alias);
  }

  /** Runs a write as one IMMEDIATE transaction; a unique-alias race becomes the same plain error. */
  private write<T>(fn: () => T, alias: string | null): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (alias !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw aliasTaken(alias);
      throw err;
    }
  }
}

function aliasTaken(alias: string) {
  return invalidContent('alias', `a template with the alias "${alias}" already exists; pick another alias or update that template`);
}

function checkAccountId(accountId: string): void {
  if (typeof accountId !== 'string' || accountId === '') throw new Error('a template belongs to an account: accountId is missing');
}

function versionRow(id: string, version: number, content: Content, now: number) {
  const row: Record<string, unknown> = { id, version, name: content.name, required: JSON.stringify(content.required), now };
  for (const part of TEMPLATE_PARTS) row[part] = content[part];
  return row;
}
