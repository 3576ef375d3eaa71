import { invalidContent, systemClock, type Clock } from '../core/index.js';
import { isUniqueViolation, type Migration, type SqlDatabase, type SqlExecutor } from '../storage/index.js';
import { compileTemplate } from './handlebars-compile.js';
import { checkAlias, isTemplateId, newTemplateId, normalizeAlias } from './template-ids.js';
import { TEMPLATE_PARTS, type TemplateHead, type TemplateInput, type TemplatePage, type TemplateSource, type TemplateView } from './types.js';

/**
 * The room's tables, applied by `SqlTemplateStore.open` under the ledger name `templates`:
 * `MIGRATIONS` on SQLite, `POSTGRES_MIGRATIONS` on PostgreSQL, each history only ever appended
 * to. Times are integer milliseconds since the epoch.
 */
export const MIGRATIONS: readonly Migration[] = [
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

/** The same tables on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- Template ids are time-ordered text; COLLATE "C" makes them sort byte by byte, as in
      -- SQLite, so the id stays the listing order and the paging cursor.
      CREATE TABLE templates (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT NOT NULL,
        alias TEXT,
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        deleted_at BIGINT
      );
      CREATE UNIQUE INDEX templates_live_alias ON templates (account_id, alias) WHERE deleted_at IS NULL AND alias IS NOT NULL;
      CREATE INDEX templates_live_by_account ON templates (account_id, id) WHERE deleted_at IS NULL;
      CREATE TABLE template_versions (
        template_id TEXT COLLATE "C" NOT NULL REFERENCES templates(id),
        version INTEGER NOT NULL,
        name TEXT,
        subject TEXT,
        html TEXT,
        text TEXT,
        required TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (template_id, version)
      );
    `,
  },
];

const COLUMNS = 't.id, t.alias, t.created_at, v.version, v.name, v.subject, v.html, v.text, v.required, v.created_at AS version_created_at';
const LATEST = 'FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.version';

/** The room's statements, in the SQL both engines run. */
const SQL = {
  headById: 'SELECT id, alias, version FROM templates WHERE account_id = ? AND id = ? AND deleted_at IS NULL',
  headByAlias: 'SELECT id, alias, version FROM templates WHERE account_id = ? AND alias = ? AND deleted_at IS NULL',
  version: `SELECT ${COLUMNS} FROM templates t JOIN template_versions v ON v.template_id = t.id WHERE t.id = ? AND v.version = ?`,
  versions: `SELECT ${COLUMNS} FROM templates t JOIN template_versions v ON v.template_id = t.id WHERE t.id = ? ORDER BY v.version DESC`,
  firstPage: `SELECT ${COLUMNS} ${LATEST} WHERE t.account_id = ? AND t.deleted_at IS NULL ORDER BY t.id DESC LIMIT ?`,
  nextPage: `SELECT ${COLUMNS} ${LATEST} WHERE t.account_id = ? AND t.deleted_at IS NULL AND t.id < ? ORDER BY t.id DESC LIMIT ?`,
  insertTemplate: 'INSERT INTO templates (id, account_id, alias, version, created_at) VALUES (?, ?, ?, 1, ?)',
  insertVersion: 'INSERT INTO template_versions (template_id, version, name, subject, html, text, required, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  // Moves to the next version only from the version the update was based on.
  advance: 'UPDATE templates SET version = ?, alias = ? WHERE id = ? AND version = ? AND deleted_at IS NULL',
  delete: 'UPDATE templates SET deleted_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL',
} as const;

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
 * Stored templates per account, with every version kept, on SQLite or PostgreSQL. Everything is
 * scoped by account: an id or alias of another account's template is simply not found.
 */
export class SqlTemplateStore implements TemplateSource {
  private readonly clock: Clock;

  private constructor(
    private readonly db: SqlDatabase,
    options: { clock?: Clock },
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Applies the room's migrations (ledger `templates`) and opens the store. */
  static async open(db: SqlDatabase, options: { clock?: Clock } = {}): Promise<SqlTemplateStore> {
    await db.migrate('templates', { sqlite: MIGRATIONS, postgres: POSTGRES_MIGRATIONS });
    return new SqlTemplateStore(db, options);
  }

  async create(accountId: string, input: TemplateInput): Promise<TemplateView> {
    checkAccountId(accountId);
    const content = prepare(undefined, input);
    const now = this.clock.now().getTime();
    const id = newTemplateId(now);
    await this.write(async (tx) => {
      await this.checkAliasFree(tx, accountId, content.alias, id);
      await tx.run(SQL.insertTemplate, [id, accountId, content.alias, now]);
      await tx.run(SQL.insertVersion, versionRow(id, 1, content, now));
    }, content.alias);
    return { id, ...content, version: 1, createdAt: new Date(now), updatedAt: new Date(now) };
  }

  /** Saves a new version from the latest one and the patch; null when there is no such template. */
  async update(accountId: string, idOrAlias: string, patch: TemplateInput): Promise<TemplateView | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(accountId, idOrAlias);
      if (!current) return null;
      // Compiled outside the write transaction: a large template takes a while, and on SQLite
      // every other statement of the process waits for an open transaction.
      const content = prepare(current, patch);
      const version = current.version + 1;
      const now = this.clock.now().getTime();
      const saved = await this.write(async (tx) => {
        await this.checkAliasFree(tx, accountId, content.alias, current.id);
        if ((await tx.run(SQL.advance, [version, content.alias, current.id, current.version])).changes === 0) return false;
        await tx.run(SQL.insertVersion, versionRow(current.id, version, content, now));
        return true;
      }, content.alias);
      if (saved) return { id: current.id, ...content, version, createdAt: current.createdAt, updatedAt: new Date(now) };
      // Another update (or a delete) got there first: start again from what is there now.
      if (attempt >= UPDATE_ATTEMPTS) throw new Error(`template ${current.id} kept changing during the update; try again`);
    }
  }

  /** The latest version, or the given one; null when the template does not exist (or is deleted). */
  async get(accountId: string, idOrAlias: string, version?: number): Promise<TemplateView | null> {
    const head = await this.head(accountId, idOrAlias);
    if (!head) return null;
    const wanted = version ?? head.version;
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > head.version) return null;
    const row = await this.db.get<Row>(SQL.version, [head.id, wanted]);
    return row ? toView(row) : null;
  }

  /** The live template's id, alias and latest version, without its content. */
  async head(accountId: string, idOrAlias: string): Promise<TemplateHead | null> {
    if (typeof idOrAlias !== 'string' || idOrAlias === '') return null;
    const row = isTemplateId(idOrAlias)
      ? await this.db.get<TemplateHead>(SQL.headById, [accountId, idOrAlias])
      : await this.db.get<TemplateHead>(SQL.headByAlias, [accountId, normalizeAlias(idOrAlias)]);
    return row ?? null;
  }

  /** The account's live templates at their latest version, newest first. */
  async list(accountId: string, options: { limit: number; cursor?: string | null }): Promise<TemplatePage> {
    const { limit, cursor } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw invalidContent('limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (cursor !== undefined && cursor !== null && (typeof cursor !== 'string' || !isTemplateId(cursor))) {
      throw invalidContent('cursor', 'this cursor is not one the template list gave out');
    }
    // One row more than asked tells whether there is a next page.
    const rows = cursor ? await this.db.all<Row>(SQL.nextPage, [accountId, cursor, limit + 1]) : await this.db.all<Row>(SQL.firstPage, [accountId, limit + 1]);
    const templates = rows.slice(0, limit).map(toView);
    return { templates, nextCursor: rows.length > limit ? templates[templates.length - 1].id : null };
  }

  /** Every version of the template, newest first; null when there is no such template. */
  async versions(accountId: string, idOrAlias: string): Promise<TemplateView[] | null> {
    const head = await this.head(accountId, idOrAlias);
    if (!head) return null;
    return (await this.db.all<Row>(SQL.versions, [head.id])).map(toView);
  }

  /** Deletes the template (all versions); its alias is free at once. False when there was none. */
  async delete(accountId: string, idOrAlias: string): Promise<boolean> {
    const head = await this.head(accountId, idOrAlias);
    if (!head) return false;
    return (await this.db.run(SQL.delete, [this.clock.now().getTime(), accountId, head.id])).changes > 0;
  }

  private async checkAliasFree(tx: SqlExecutor, accountId: string, alias: string | null, selfId: string): Promise<void> {
    if (alias === null) return;
    const holder = await tx.get<TemplateHead>(SQL.headByAlias, [accountId, alias]);
    if (holder && holder.id !== selfId) throw aliasTaken(alias);
  }

  /** Runs a write as one transaction; a unique-alias race becomes the same plain error. */
  private async write<T>(work: (tx: SqlExecutor) => Promise<T>, alias: string | null): Promise<T> {
    try {
      return await this.db.transaction(work);
    } catch (err) {
      if (alias !== null && isUniqueViolation(err)) throw aliasTaken(alias);
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

/** `insertVersion`'s values. */
function versionRow(id: string, version: number, content: Content, now: number): unknown[] {
  return [id, version, content.name, ...TEMPLATE_PARTS.map((part) => content[part]), JSON.stringify(content.required), now];
}
