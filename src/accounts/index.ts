/**
 * accounts — the records that say who may send: accounts (a `default` one always exists) with
 * their sending limits, their SMTP credentials — either a username and password (AUTH PLAIN/LOGIN
 * after TLS) or a list of client networks that may relay without AUTH (Postfix's mynetworks) —
 * and their API keys for the HTTP API; and the people who sign in to the dashboard (users, their
 * role per account, sessions, sign-in lock-out — `sql-user-store.ts`, its own ledger). Every store
 * is one class over storage's `SqlDatabase`, the same on SQLite and PostgreSQL. The sending limits
 * are counted behind `RateLimiter`: in memory on a node alone (`AccountRateLimiter`), in the shared
 * database on a cluster (`SqlAccountRateLimiter`, table `rate_limit_usage`, its own ledger
 * `rate-limits`), so the nodes allow an account its limit together.
 *
 * Invariants: a password or API key is shown once, at creation; only a hash is stored (scrypt for
 * passwords, which people may choose; SHA-256 for API keys, which are random); listings never
 * return hashes; a revoke takes effect at once in this process and — through the `api_keys` and
 * `smtp_credentials` change counters (storage's `change_counters`, moved by triggers) — for the
 * very next request or SMTP lookup in a server process when the CLI or another node revokes. One
 * migration history per dialect (`schema.ts`) serves every store of the room.
 */
export {
  SqlCredentialStore,
  type SmtpCredential,
  type CreatedCredential,
  type CreateCredentialRequest,
} from './sql-credential-store.js';
export {
  SqlAccountStore,
  DEFAULT_ACCOUNT_ID,
  BOOTSTRAP_KEY_NAME,
  MAX_RATE,
  type Account,
  type AccountLimits,
  type AccountTracking,
  type CreateAccountRequest,
  type ApiKey,
  type CreatedApiKey,
  type CreateApiKeyRequest,
  type ApiKeyPrincipal,
} from './sql-account-store.js';
export { API_KEY_SCOPES, API_KEY_PATTERN, isApiKeyScope, scopeAllows, type ApiKeyScope } from './api-keys.js';
export { AccountRateLimiter, type RateLimiter, type RateLimitResult, type RateLimitWindow } from './rate-limiter.js';
export { SqlAccountRateLimiter } from './sql-rate-limiter.js';
export { AccountsError, type AccountsErrorCode } from './names.js';
export {
  SqlUserStore,
  UsersError,
  USER_ROLES,
  MIN_PASSWORD_LENGTH,
  SESSION_MAX_AGE_MS,
  isUserRole,
  csrfTokenFor,
  csrfTokenMatches,
  type User,
  type UserRole,
  type UserAccountRole,
  type UserSession,
  type StartedSession,
  type SignInResult,
  type CreateUserRequest,
  type UsersErrorCode,
} from './sql-user-store.js';
