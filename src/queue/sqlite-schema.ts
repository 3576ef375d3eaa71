import type { Migration } from '../storage/index.js';
import { leaseBackToDue } from './store-rules.js';

/**
 * The queue's tables in the embedded SQLite database. Times are integer milliseconds since the
 * epoch; JSON columns hold TEXT. Applied with `migrate(db, 'queue', MIGRATIONS)`: add new
 * versions, never edit an applied one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- Clustered by id: ids are time-ordered, so inserts append and newest-first listing walks
      -- the table backwards.
      CREATE TABLE messages (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL,
        source      TEXT NOT NULL,
        mail_from   TEXT NOT NULL,
        size        INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        meta        TEXT NOT NULL
      ) WITHOUT ROWID;

      -- One body per message however many recipients; kept apart so scans of messages stay small.
      CREATE TABLE bodies (
        message_id  TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        data        BLOB NOT NULL
      );

      -- AUTOINCREMENT: a recipient id is never reused, so a stale worker's result can never land
      -- on a recipient created after the one it attempted.
      CREATE TABLE recipients (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id       TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        address          TEXT NOT NULL,
        domain           TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        last_reply       TEXT,
        updated_at       INTEGER NOT NULL
      );
      -- claimDue and nextDueAt read only this (small) index of waiting recipients; it covers the
      -- batch keys, so choosing work touches no table rows.
      CREATE INDEX recipients_due ON recipients(next_attempt_at, message_id, domain, state) WHERE state IN ('queued', 'deferred');
      -- reapExpiredLeases reads only the leased ones.
      CREATE INDEX recipients_leased ON recipients(lease_expires_at) WHERE state = 'delivering';
      -- A message's recipients (get, hold, the list filter by state, deletes). No index on state
      -- alone: without ANALYZE the planner would prefer it to the partial indexes above.
      CREATE INDEX recipients_message ON recipients(message_id, state);

      CREATE TABLE attempts (
        id            INTEGER PRIMARY KEY,
        recipient_id  INTEGER NOT NULL,
        message_id    TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        at            INTEGER NOT NULL,
        host          TEXT,
        state         TEXT NOT NULL,
        reply         TEXT NOT NULL
      );
      CREATE INDEX attempts_message ON attempts(message_id, id);

      -- The outbox: written in the same transaction as the change it describes, read in seq
      -- order by notify/. Not tied to messages: events outlive a deleted message.
      CREATE TABLE events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        type        TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        account_id  TEXT NOT NULL,
        recipient   TEXT,
        at          INTEGER NOT NULL,
        data        TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- Retention removes events by age.
      CREATE INDEX events_at ON events(at);
    `,
  },
  {
    version: 3,
    sql: `
      -- A message's timeline (API message detail) and search by recipient address.
      CREATE INDEX events_message ON events(message_id, seq);
      CREATE INDEX recipients_address ON recipients(address);
    `,
  },
  {
    version: 4,
    sql: `
      -- The message list filtered by status or tag, newest first: walked from these in id order,
      -- so a rare status or tag costs its own matches, not a scan of every message.
      -- Partial: only states delivery never looks for, so the hot queries keep their own indexes.
      CREATE INDEX recipients_state_message ON recipients(state, message_id) WHERE state IN ('delivered', 'bounced', 'expired', 'held');
      CREATE TABLE message_tags (
        tag        TEXT NOT NULL,
        message_id TEXT NOT NULL,
        PRIMARY KEY (tag, message_id)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO message_tags (tag, message_id)
        SELECT t.value, m.id FROM messages m, json_each(m.meta, '$.tags') t WHERE json_valid(m.meta) AND t.type = 'text';
      -- Kept by triggers: every write path that adds or removes a message keeps them right.
      CREATE TRIGGER message_tags_insert AFTER INSERT ON messages BEGIN
        INSERT OR IGNORE INTO message_tags (tag, message_id)
          SELECT value, NEW.id FROM json_each(NEW.meta, '$.tags') WHERE type = 'text';
      END;
      CREATE TRIGGER message_tags_delete AFTER DELETE ON messages BEGIN
        DELETE FROM message_tags WHERE message_id = OLD.id AND tag IN (SELECT value FROM json_each(OLD.meta, '$.tags'));
      END;
    `,
  },
  {
    version: 5,
    sql: `
      -- The message list by sender: one address, or every sender of a domain. A WITHOUT ROWID
      -- table's index ends in the id, so equal keys come in id order and a page stops at its 50th.
      -- The domain is what follows the last '@' (SENDER_DOMAIN_SQL repeats this expression).
      CREATE INDEX messages_mail_from ON messages(mail_from);
      CREATE INDEX messages_mail_from_domain ON messages(substr(mail_from, length(rtrim(mail_from, replace(mail_from, '@', ''))) + 1));
      -- Search by subject (case-insensitive "contains"): a trigram full-text index. FTS needs
      -- integer row ids and messages has none, so message_subjects numbers the messages in the
      -- order they were stored; the index holds no copy of the text (contentless).
      CREATE TABLE message_subjects (
        seq        INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE
      );
      CREATE VIRTUAL TABLE message_subjects_fts USING fts5(subject, content='', contentless_delete=1, tokenize='trigram');
      INSERT INTO message_subjects (message_id)
        SELECT id FROM messages WHERE json_valid(meta) AND json_type(meta, '$.subject') = 'text' ORDER BY id;
      INSERT INTO message_subjects_fts (rowid, subject)
        SELECT s.seq, json_extract(m.meta, '$.subject') FROM message_subjects s JOIN messages m ON m.id = s.message_id;
      -- Kept by triggers, like message_tags: every write path that adds or removes a message.
      CREATE TRIGGER message_subjects_insert AFTER INSERT ON messages WHEN json_type(NEW.meta, '$.subject') = 'text' BEGIN
        INSERT INTO message_subjects (message_id) VALUES (NEW.id);
        INSERT INTO message_subjects_fts (rowid, subject)
          VALUES ((SELECT seq FROM message_subjects WHERE message_id = NEW.id), json_extract(NEW.meta, '$.subject'));
      END;
      CREATE TRIGGER message_subjects_delete AFTER DELETE ON messages BEGIN
        DELETE FROM message_subjects_fts WHERE rowid = (SELECT seq FROM message_subjects WHERE message_id = OLD.id);
        DELETE FROM message_subjects WHERE message_id = OLD.id;
      END;
    `,
  },
  {
    version: 6,
    sql: `
      -- The subject index is written in bulk, not by the insert trigger: FTS5 writes a segment per
      -- transaction, so indexing a group commit's few subjects cost about as much as the rest of
      -- the message, and indexing hundreds at once costs a fifth of that per subject.
      -- message_subjects numbers every subject to index; message_subjects_indexed says how far
      -- the index has got (SqliteQueueStore.indexSubjects). AUTOINCREMENT: a number removed with
      -- its message is never handed out again, or a new subject could take the number of one
      -- already indexed and be skipped.
      CREATE TABLE message_subjects_numbered (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE
      );
      INSERT INTO message_subjects_numbered (seq, message_id) SELECT seq, message_id FROM message_subjects ORDER BY seq;
      DROP TRIGGER message_subjects_insert;
      DROP TRIGGER message_subjects_delete;
      DROP TABLE message_subjects;
      ALTER TABLE message_subjects_numbered RENAME TO message_subjects;
      CREATE TABLE message_subjects_indexed (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL
      );
      -- Everything numbered so far was indexed by the trigger this migration replaces.
      INSERT INTO message_subjects_indexed (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM message_subjects;
      CREATE TRIGGER message_subjects_insert AFTER INSERT ON messages WHEN json_type(NEW.meta, '$.subject') = 'text' BEGIN
        INSERT INTO message_subjects (message_id) VALUES (NEW.id);
      END;
      -- Only an indexed subject has an entry to remove.
      CREATE TRIGGER message_subjects_delete AFTER DELETE ON messages BEGIN
        DELETE FROM message_subjects_fts WHERE rowid = (
          SELECT seq FROM message_subjects WHERE message_id = OLD.id AND seq <= (SELECT seq FROM message_subjects_indexed)
        );
        DELETE FROM message_subjects WHERE message_id = OLD.id;
      END;
    `,
  },
];

/** The sender's domain as index messages_mail_from_domain has it (the text after the last '@'). */
export const SENDER_DOMAIN_SQL = "substr(m.mail_from, length(rtrim(m.mail_from, replace(m.mail_from, '@', ''))) + 1)";

/**
 * The queries on the delivery hot path, kept beside the indexes that serve them (a test checks
 * their query plans). Their WHERE clauses must repeat the partial indexes' conditions exactly.
 */
export const HOT_QUERIES = {
  /** Batch keys (message × domain) in due order; params: now, JSON array of domains to skip. */
  dueKeys: `SELECT message_id, domain FROM recipients
    WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ? AND domain NOT IN (SELECT value FROM json_each(?))
    ORDER BY next_attempt_at`,
  nextDue: "SELECT MIN(next_attempt_at) AS t FROM recipients WHERE state IN ('queued', 'deferred')",
  /** Expired leases back to due; params: { now }. */
  reap: `UPDATE recipients SET ${leaseBackToDue('@now', '@now')}
    WHERE state = 'delivering' AND lease_expires_at <= @now`,
  /** Every lease back to due (start-up of the only process using this store); params: { now }. */
  reapAll: `UPDATE recipients SET ${leaseBackToDue('@now', '@now')}
    WHERE state = 'delivering'`,
  /** A stopping worker's own leases back to due; params: { owner, now }. */
  releaseOwn: `UPDATE recipients SET ${leaseBackToDue('@now', '@now')}
    WHERE state = 'delivering' AND lease_owner = @owner`,
  /** One leased recipient back to due at a later time, untried; params: { id, messageId, owner, leaseExpiresAt, until, now }. */
  postpone: `UPDATE recipients SET ${leaseBackToDue('@until', '@now')}
    WHERE id = @id AND message_id = @messageId AND state = 'delivering' AND lease_owner = @owner AND lease_expires_at = @leaseExpiresAt`,
  /** Pending recipients per state and their oldest message's acceptance time (metrics). */
  pendingGauges: `SELECT r.state AS state, COUNT(*) AS n, MIN(m.created_at) AS oldest
    FROM recipients r JOIN messages m ON m.id = r.message_id
    WHERE r.state IN ('queued', 'deferred', 'delivering', 'held') GROUP BY r.state`,
} as const;
