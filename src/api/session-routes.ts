import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  csrfTokenFor,
  csrfTokenMatches,
  SESSION_MAX_AGE_MS,
  type ApiKeyScope,
  type SqlAccountStore,
  type SqlUserStore,
  type UserRole,
  type UserSession,
} from '../accounts/index.js';
import { ApiError, errorResponses } from './errors.js';
import type { ApiPrincipal } from './types.js';

/**
 * Dashboard sign-in: `POST /api/v1/session` checks an e-mail address and password and sets the
 * `herald_session` cookie; from then on the browser's requests are authenticated by that cookie
 * as the user's role on the session's account. The cookie is HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it) and Secure whenever Herald is reached over
 * https. Unsafe methods also need the session's CSRF token in `X-Herald-CSRF`: SameSite alone
 * leaves out older browsers and same-site subdomains.
 */

export const SESSION_COOKIE = 'herald_session';
export const CSRF_HEADER = 'x-herald-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionRouteDeps {
  users: SqlUserStore;
  accounts: Pick<SqlAccountStore, 'get'>;
  config: { publicUrl?: string };
}

/** The API key scope a role acts with: viewers read, admins and owners do everything. */
export function scopeOfRole(role: UserRole): ApiKeyScope {
  return role === 'viewer' ? 'read' : 'admin';
}

/** One cookie's value from a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const SessionErrors = {
  ended: () => new ApiError(401, 'unauthorized', 'your dashboard session has ended; sign in again'),
  csrf: () =>
    new ApiError(403, 'csrf', `this request comes with a session cookie but without its CSRF token: send the "csrf" value of POST /api/v1/session in the X-Herald-CSRF header`, 'X-Herald-CSRF'),
  badCredentials: () => new ApiError(401, 'unauthorized', 'the e-mail address or the password is not right'),
  locked: (seconds: number) =>
    new ApiError(429, 'locked', `too many failed sign-ins for this e-mail address; try again in ${Math.ceil(seconds / 60)} min`, 'email', { 'Retry-After': String(seconds) }),
  noAccount: () => new ApiError(403, 'no_account', 'this user has no account to open yet; an operator can give it one with: herald users grant'),
  notSignedIn: () => new ApiError(401, 'unauthorized', 'you are not signed in: POST /api/v1/session with your e-mail address and password'),
};

function secure(req: FastifyRequest, config: { publicUrl?: string }): boolean {
  return req.protocol === 'https' || (config.publicUrl?.startsWith('https:') ?? false);
}

function sessionCookie(token: string, isSecure: boolean): string {
  // Max-Age is the longest a session can live; the server ends it sooner when it is left idle.
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_MS / 1000}${isSecure ? '; Secure' : ''}`;
}

function clearedCookie(isSecure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${isSecure ? '; Secure' : ''}`;
}

/**
 * The principal of a request authenticated by its session cookie; null when it carries none.
 * Called only for requests without an Authorization header: an API key always wins.
 */
export async function sessionPrincipal(req: FastifyRequest, users: SqlUserStore): Promise<ApiPrincipal | null> {
  const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (!token) return null;
  const session = await users.resume(token);
  if (!session) throw SessionErrors.ended();
  if (!SAFE_METHODS.has(req.method) && !csrfTokenMatches(token, headerValue(req.headers[CSRF_HEADER]))) throw SessionErrors.csrf();
  return { accountId: session.accountId, keyId: session.user.id, userId: session.user.id, scope: scopeOfRole(session.role) };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function sessionView(deps: SessionRouteDeps, session: UserSession, csrf: string) {
  const nameOf = async (accountId: string) => (await deps.accounts.get(accountId))?.name ?? accountId;
  const accounts = await Promise.all((await deps.users.accountsOf(session.user)).map(async (a) => ({ id: a.accountId, name: await nameOf(a.accountId), role: a.role })));
  return {
    user: { id: session.user.id, email: session.user.email, operator: session.user.operator },
    account: { id: session.accountId, name: await nameOf(session.accountId), role: session.role, scope: scopeOfRole(session.role) },
    accounts,
    csrf,
    expires_at: session.expiresAt.toISOString(),
  };
}

const sessionSchema = {
  type: 'object',
  properties: {
    user: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, operator: { type: 'boolean' } } },
    account: {
      type: 'object',
      description: 'The account this session acts on, the role there and the API key scope it acts with.',
      properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: ['owner', 'admin', 'viewer'] }, scope: { type: 'string' } },
    },
    accounts: {
      type: 'array',
      description: 'Every account the user may switch to (all of them for an operator).',
      items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } } },
    },
    csrf: { type: 'string', description: 'Send this in the X-Herald-CSRF header of every POST, PUT, PATCH and DELETE made with the session cookie.' },
    expires_at: { type: 'string', format: 'date-time', description: 'When the session ends if left unused (each use renews it).' },
  },
} as const;

export function registerSessionRoutes(api: FastifyInstance, deps: SessionRouteDeps): void {
  const noStore = (reply: FastifyReply) => reply.header('Cache-Control', 'no-store');

  /** The request's session, with its token; a 401 without one. */
  const current = async (req: FastifyRequest): Promise<{ token: string; session: UserSession }> => {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!token) throw SessionErrors.notSignedIn();
    const session = await deps.users.resume(token);
    if (!session) throw SessionErrors.ended();
    return { token, session };
  };
  const requireCsrf = (req: FastifyRequest, token: string) => {
    if (!csrfTokenMatches(token, headerValue(req.headers[CSRF_HEADER]))) throw SessionErrors.csrf();
  };

  api.post<{ Body: { email: string; password: string } }>(
    '/session',
    {
      schema: {
        summary: 'Sign in to the dashboard',
        description:
          'Checks the e-mail address and password of a dashboard user (herald users create) and sets the herald_session cookie. ' +
          'Repeated failures lock the address out for a while (429 with Retry-After).',
        tags: ['session'],
        security: [],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'password'],
          properties: { email: { type: 'string', minLength: 1, maxLength: 320 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 200: sessionSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      const result = await deps.users.signIn(req.body.email, req.body.password, { ip: req.ip, userAgent: headerValue(req.headers['user-agent']) });
      if (!result.ok) {
        if (result.reason === 'locked') throw SessionErrors.locked(result.retryAfterSeconds);
        if (result.reason === 'no_account') throw SessionErrors.noAccount();
        throw SessionErrors.badCredentials();
      }
      noStore(reply).header('Set-Cookie', sessionCookie(result.session.token, secure(req, deps.config)));
      return sessionView(deps, result.session, result.session.csrf);
    },
  );

  api.get(
    '/session',
    {
      schema: {
        summary: 'The signed-in user, the active account and the CSRF token',
        tags: ['session'],
        security: [],
        response: { 200: sessionSchema, ...errorResponses(401) },
      },
    },
    async (req, reply) => {
      const { token, session } = await current(req);
      noStore(reply);
      return sessionView(deps, session, csrfTokenFor(token));
    },
  );

  api.put<{ Body: { account: string } }>(
    '/session/account',
    {
      schema: {
        summary: 'Switch the session to another account',
        description: 'Operators may open any account; other users the accounts they have a role on.',
        tags: ['session'],
        security: [],
        body: { type: 'object', additionalProperties: false, required: ['account'], properties: { account: { type: 'string', minLength: 1, description: 'Account id or name.' } } },
        response: { 200: sessionSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const { token } = await current(req);
      requireCsrf(req, token);
      const switched = await deps.users.switchAccount(token, req.body.account);
      if (!switched) throw new ApiError(404, 'not_found', `account ${req.body.account} was not found among the accounts you may open`, 'account');
      noStore(reply);
      return sessionView(deps, switched, csrfTokenFor(token));
    },
  );

  api.delete(
    '/session',
    {
      schema: { summary: 'Sign out', tags: ['session'], security: [], response: { 204: { type: 'null' }, ...errorResponses(401, 403) } },
    },
    async (req, reply) => {
      const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
      if (token && (await deps.users.resume(token))) {
        requireCsrf(req, token);
        await deps.users.end(token);
      }
      return reply.code(204).header('Set-Cookie', clearedCookie(secure(req, deps.config))).send();
    },
  );
}
