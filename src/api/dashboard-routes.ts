import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/**
 * The dashboard's files (the single-page app built by `npm run build` into dist/dashboard/),
 * served at `/` from memory: the whole app is a few hundred kilobytes, read once at start-up, so
 * no request can name a file outside it. A path that is neither a file nor under assets/ is one
 * of the app's own pages (/messages/…), answered with index.html for the app to route. The API,
 * /healthz, /openapi.json and the tracking URLs keep their own routes and 404s.
 */

/** No inline script or style anywhere; frames only from Herald itself (the message preview). */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SECURITY_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
} as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Paths the dashboard never answers: they belong to the API and the public endpoints. */
const NOT_DASHBOARD = /^\/(api|t|email|healthz|openapi\.json)(\/|$)/;

interface StaticFile {
  body: Buffer;
  type: string;
  /** Files under assets/ carry a content hash in their name: cached for good. */
  immutable: boolean;
}

function readTree(dir: string, root = dir, out = new Map<string, StaticFile>()): Map<string, StaticFile> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) readTree(path, root, out);
    else {
      const rel = relative(root, path).split(sep).join('/');
      out.set(`/${rel}`, { body: readFileSync(path), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
    }
  }
  return out;
}

/**
 * Where the built dashboard is: next to the compiled server (dist/dashboard beside dist/api), or,
 * when the server runs from its TypeScript sources, in the checkout's dist/dashboard.
 */
export function defaultDashboardDir(): string {
  const compiled = join(import.meta.dirname, '..', 'dashboard');
  if (existsSync(join(compiled, 'index.html'))) return compiled;
  return join(import.meta.dirname, '..', '..', 'dist', 'dashboard');
}

export function registerDashboardRoutes(app: FastifyInstance, options: { dir: string }): void {
  const files = existsSync(join(options.dir, 'index.html')) ? readTree(options.dir) : null;

  const send = (reply: FastifyReply, file: StaticFile) =>
    reply
      .headers(SECURITY_HEADERS)
      .header('Content-Type', file.type)
      .header('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(file.body);

  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]);
    } catch {
      return reply.code(400).headers(SECURITY_HEADERS).header('Content-Type', 'text/plain; charset=utf-8').send('Bad request: the path is not valid percent-encoding.\n');
    }
    if (NOT_DASHBOARD.test(path)) return reply.callNotFound();
    if (!files) {
      return reply
        .code(503)
        .headers(SECURITY_HEADERS)
        .header('Content-Type', 'text/plain; charset=utf-8')
        .send('The dashboard is not built. Run `npm run build` (or `npm ci`) in the Herald checkout, then restart Herald.\n');
    }
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file) return send(reply, file);
    // A missing script or image is a 404; anything else is a page of the app (/domains/example.com too).
    if (path.startsWith('/assets/') || TYPES[extname(path)] !== undefined) return reply.code(404).headers(SECURITY_HEADERS).header('Content-Type', 'text/plain; charset=utf-8').send('Not found.\n');
    return send(reply, files.get('/index.html')!);
  });
}
