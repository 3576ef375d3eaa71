import { changeCounterSql, postgresChangeCounterSql, type DialectMigrations, type Migration } from '../storage/index.js';

/**
 * The accounts room's tables: one migration history per dialect shared by every store of the
 * room (`SqlCredentialStore`, `SqlAccountStore`, and `SqlUserStore` for the tables its own
 * ledger references), so whichever opens the database first brings it up to date and the others
 * find nothing left to do. Times are integer milliseconds since the epoch. Applied with
 * `db.migrate('accounts', ACCOUNTS_MIGRATIONS)`: add new versions, never edit an applied one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      INSERT INTO accounts (id, name, created_at) VALUES ('default', 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
      CREATE TABLE smtp_credentials (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('password', 'network')),
        username TEXT UNIQUE,
        password_hash TEXT,
        networks TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      -- A name is unique among an account's active credentials, so a revoked name can be reused.
      CREATE UNIQUE INDEX smtp_credentials_active_name ON smtp_credentials (account_id, name) WHERE revoked_at IS NULL;
    `,
  },
  {
    version: 2,
    sql: `
      -- Messages per minute and per day; NULL means no limit.
      ALTER TABLE accounts ADD COLUMN rate_per_minute INTEGER CHECK (rate_per_minute IS NULL OR rate_per_minute > 0);
      ALTER TABLE accounts ADD COLUMN rate_per_day INTEGER CHECK (rate_per_day IS NULL OR rate_per_day > 0);

      -- Keys are random (~238 bits), so a plain SHA-256 is enough to make a stolen database useless
      -- and keeps the per-request check cheap (scrypt is for guessable passwords). Rows are never
      -- deleted: a revoked key stays for the record, and "the default account has had a key" stays
      -- true, which is what stops a second bootstrap key.
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('send', 'read', 'admin')),
        prefix TEXT NOT NULL,
        key_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE UNIQUE INDEX api_keys_active_name ON api_keys (account_id, name) WHERE revoked_at IS NULL;
    `,
  },
  {
    version: 3,
    sql: `
      -- The account's default for open and click tracking, for messages that do not say (off, like Postmark).
      ALTER TABLE accounts ADD COLUMN track_opens INTEGER NOT NULL DEFAULT 0 CHECK (track_opens IN (0, 1));
      ALTER TABLE accounts ADD COLUMN track_links INTEGER NOT NULL DEFAULT 0 CHECK (track_links IN (0, 1));
    `,
  },
  {
    version: 4,
    // What lets SqlAccountStore keep accounts and keys in memory and still see the CLI's
    // changes (a revoke, new limits, tracking defaults) for the very next request.
    // last_used_at is bookkeeping, written once a minute per busy key: it moves no counter.
    sql: [
      changeCounterSql('accounts', ['accounts']),
      changeCounterSql('api_keys', [{ table: 'api_keys', updateOf: ['id', 'account_id', 'name', 'scope', 'prefix', 'key_hash', 'created_at', 'revoked_at'] }]),
    ].join('\n'),
  },
  {
    version: 5,
    // The credential store keeps the active credentials in memory (network credentials are
    // looked up per connection and per transaction); this counter tells it of any change, the
    // CLI's included, at the next lookup.
    sql: changeCounterSql('smtp_credentials', ['smtp_credentials']),
  },
];

/**
 * The same tables on PostgreSQL: version 1 is the SQLite history's final schema. Ids sort byte by
 * byte (COLLATE "C"), as in SQLite. `rowid` is the insertion order SQLite gives every table, the
 * tie-break of listings whose rows share a millisecond.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: [
      `
      CREATE TABLE accounts (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        rate_per_minute INTEGER CHECK (rate_per_minute IS NULL OR rate_per_minute > 0),
        rate_per_day INTEGER CHECK (rate_per_day IS NULL OR rate_per_day > 0),
        track_opens INTEGER NOT NULL DEFAULT 0 CHECK (track_opens IN (0, 1)),
        track_links INTEGER NOT NULL DEFAULT 0 CHECK (track_links IN (0, 1)),
        rowid BIGINT GENERATED ALWAYS AS IDENTITY
      );
      INSERT INTO accounts (id, name, created_at) VALUES ('default', 'default', CAST(floor(extract(epoch FROM now())) AS BIGINT) * 1000);
      CREATE TABLE smtp_credentials (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('password', 'network')),
        username TEXT UNIQUE,
        password_hash TEXT,
        networks TEXT,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE UNIQUE INDEX smtp_credentials_active_name ON smtp_credentials (account_id, name) WHERE revoked_at IS NULL;
      CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('send', 'read', 'admin')),
        prefix TEXT NOT NULL,
        key_hash BYTEA NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT,
        rowid BIGINT GENERATED ALWAYS AS IDENTITY
      );
      CREATE UNIQUE INDEX api_keys_active_name ON api_keys (account_id, name) WHERE revoked_at IS NULL;
      `,
      postgresChangeCounterSql('accounts', ['accounts']),
      postgresChangeCounterSql('api_keys', [{ table: 'api_keys', updateOf: ['id', 'account_id', 'name', 'scope', 'prefix', 'key_hash', 'created_at', 'revoked_at'] }]),
      postgresChangeCounterSql('smtp_credentials', ['smtp_credentials']),
    ].join('\n'),
  },
];

/** Both histories, as `db.migrate` takes them. */
export const ACCOUNTS_MIGRATIONS: DialectMigrations = { sqlite: MIGRATIONS, postgres: POSTGRES_MIGRATIONS };
