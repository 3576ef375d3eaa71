import { changeCounterSql, postgresChangeCounterSql, type Migration } from '../storage/index.js';

/**
 * The domains room's tables, applied by `SqlDomainStore.open` under the ledger name `domains`:
 * `MIGRATIONS` on SQLite, `POSTGRES_MIGRATIONS` on PostgreSQL, two histories each only ever
 * appended to (add new versions, never edit an applied one). Times are integer milliseconds
 * since the epoch.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- A domain belongs to one account: the name is unique across all of them.
      CREATE TABLE domains (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL UNIQUE,
        return_path TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        -- Verification state: verified_at is set while verified (or failing), failing_since while
        -- failing; the status is derived from both and the grace period (see the room header).
        verified_at INTEGER,
        failing_since INTEGER,
        checked_at INTEGER,
        -- The last VerificationResult as JSON, and each record's last conclusive status
        -- ({"<purpose> <name>": "ok" | "missing" | "wrong"}) for telling what changed.
        last_result TEXT,
        record_states TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX domains_by_account ON domains (account_id, name);
      -- Inbound mail to a return-path domain (a bounce) is matched to its domain without an account.
      CREATE INDEX domains_by_return_path ON domains (return_path);

      -- The private key is PKCS#8 PEM, in the clear: whoever reads the database can sign mail as
      -- the domain, so the data directory must be readable by Herald alone. Encryption at rest is
      -- out of scope. A retired key keeps its row (with the private key removed) so its selector is
      -- never reused while an old record may still be published.
      CREATE TABLE dkim_keys (
        domain_id TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')),
        public_key TEXT NOT NULL,
        private_key TEXT,
        created_at INTEGER NOT NULL,
        activated_at INTEGER,
        retire_at INTEGER,
        retired_at INTEGER,
        PRIMARY KEY (domain_id, selector)
      );

      -- Per-account settings of the room; no row means the defaults.
      CREATE TABLE domain_settings (
        account_id TEXT PRIMARY KEY,
        development_mode INTEGER NOT NULL DEFAULT 0 CHECK (development_mode IN (0, 1))
      );
    `,
  },
  {
    version: 2,
    // What lets SqlDomainStore keep the accept pipeline's lookups in memory and still see the
    // CLI's changes (development mode, a domain added, removed or verified, a key rotated) for
    // the very next message.
    sql: changeCounterSql('domains', ['domains', 'dkim_keys', 'domain_settings']),
  },
];

/** The same tables on PostgreSQL: version 1 is the SQLite history's final schema. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- A domain belongs to one account: the name is unique across all of them. Names, account
      -- ids and selectors sort byte by byte (COLLATE "C"), as in SQLite, whatever the database's locale.
      CREATE TABLE domains (
        id TEXT PRIMARY KEY,
        account_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL UNIQUE,
        return_path TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        verified_at BIGINT,
        failing_since BIGINT,
        checked_at BIGINT,
        last_result TEXT,
        record_states TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX domains_by_account ON domains (account_id, name);
      CREATE INDEX domains_by_return_path ON domains (return_path);

      -- Private keys in the clear, as on SQLite: the database must be readable by Herald alone.
      CREATE TABLE dkim_keys (
        domain_id TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        selector TEXT COLLATE "C" NOT NULL,
        algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')),
        public_key TEXT NOT NULL,
        private_key TEXT,
        created_at BIGINT NOT NULL,
        activated_at BIGINT,
        retire_at BIGINT,
        retired_at BIGINT,
        PRIMARY KEY (domain_id, selector)
      );

      CREATE TABLE domain_settings (
        account_id TEXT PRIMARY KEY,
        development_mode INTEGER NOT NULL DEFAULT 0 CHECK (development_mode IN (0, 1))
      );

      ${postgresChangeCounterSql('domains', ['domains', 'dkim_keys', 'domain_settings'])}
    `,
  },
];
