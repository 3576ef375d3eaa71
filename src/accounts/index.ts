/**
 * accounts — the records that say who may send: accounts (a `default` one always exists) and
 * their SMTP credentials, either a username and password (AUTH PLAIN/LOGIN after TLS) or a list
 * of client networks that may relay without AUTH (Postfix's mynetworks).
 *
 * Invariants: a password is shown once, at creation, and only its scrypt hash (salted, with its
 * parameters) is stored; `list` never returns hashes; a revoke takes effect at once, in this
 * process and — through `PRAGMA data_version` — in a server process when the CLI revokes.
 */
export {
  SqliteCredentialStore,
  type SmtpCredential,
  type CreatedCredential,
  type CreateCredentialRequest,
} from './sqlite-credential-store.js';
