import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseByteSize, parseDuration, parseDurationList, parseNetwork, type Network } from '../core/index.js';

/**
 * The one config schema. Each setting has a camelCase key (config file, CLI), an environment
 * variable, a default, a parser with bounds, and a sentence for `herald config print` and docs.
 */
interface Setting<T> {
  env: string;
  default: string;
  parse(text: string): T;
  describe: string;
}

const port = (text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: "${text}" (0–65535; 0 disables)`);
  return n;
};
const int = (min: number, max: number) => (text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`"${text}" is not a whole number from ${min} to ${max}`);
  return n;
};
const str = (text: string): string => text.trim();
const optional = (text: string): string | undefined => text.trim() || undefined;
const oneOf = <T extends string>(...values: T[]) => (text: string): T => {
  if (!(values as string[]).includes(text)) throw new Error(`"${text}" is not one of ${values.join(', ')}`);
  return text as T;
};
const networks = (text: string): Network[] => text.split(',').map((s) => s.trim()).filter(Boolean).map(parseNetwork);
const bounded = (parse: (t: string) => number, min: number, max: number, what: string) => (text: string): number => {
  const n = parse(text);
  if (n < min || n > max) throw new Error(`${what} "${text}" is out of range`);
  return n;
};
const hostPorts = (text: string): string[] => text.split(',').map((s) => s.trim()).filter(Boolean);
const ipAddresses = (text: string): string[] =>
  hostPorts(text).map((ip) => {
    if (!isIP(ip)) throw new Error(`"${ip}" is not an IPv4 or IPv6 address`);
    return ip;
  });
// Kept as text, not a URL object: the config crosses to the delivery thread by structured clone.
const publicUrl = (text: string): string | undefined => {
  if (!text.trim()) return undefined;
  const url = new URL(text.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('use http://host[:port] or https://host[:port], optionally with a path');
  if (url.search || url.hash || url.username || url.password) throw new Error('the public URL takes no query, fragment or user name');
  return url.href.replace(/\/+$/, '');
};
// Kept as text (it crosses threads); checked here so a typo stops start-up with a clear word.
const databaseUrl = (text: string): string | undefined => {
  if (!text.trim()) return undefined;
  const url = new URL(text.trim());
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('use postgres://user:password@host:port/database');
  return url.href;
};
const schemaName = (text: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(text.trim())) throw new Error(`"${text}" is not a plain schema name (lower-case letters, digits and _, at most 63)`);
  return text.trim();
};
export const ROLES = ['smtp', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];
const roles = (text: string): Role[] => {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error(`name at least one role: ${ROLES.join(', ')}`);
  for (const role of list) if (!(ROLES as readonly string[]).includes(role)) throw new Error(`"${role}" is not a role (${ROLES.join(', ')})`);
  return ROLES.filter((r) => list.includes(r));
};
const smartHost = (text: string): URL | undefined => {
  if (!text.trim()) return undefined;
  const url = new URL(text.trim());
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('use smtp://user:pass@host:port or smtps://…');
  return url;
};

export const SCHEMA = {
  dataDir: { env: 'HERALD_DATA_DIR', default: './data', parse: str, describe: 'Directory for the SQLite store, generated certificate and other state.' },
  databaseUrl: {
    env: 'HERALD_DATABASE_URL',
    default: '',
    parse: databaseUrl,
    describe: 'PostgreSQL to keep everything in (postgres://user:password@host:5432/db) instead of the SQLite file in the data directory; several nodes may share it.',
  },
  databaseSchema: { env: 'HERALD_DATABASE_SCHEMA', default: 'public', parse: schemaName, describe: 'The PostgreSQL schema holding Herald’s tables (created if missing).' },
  roles: {
    env: 'HERALD_ROLES',
    default: 'smtp,api,worker',
    parse: roles,
    describe: 'What this node does: smtp (the SMTP listeners), api (the HTTP API, dashboard and tracking links), worker (delivery and the periodic jobs). Every node serves /healthz, /readyz and /metrics.',
  },
  hostname: { env: 'HERALD_HOSTNAME', default: hostname(), parse: str, describe: 'Name used in the SMTP greeting, EHLO, Received headers and Message-IDs.' },
  logLevel: { env: 'HERALD_LOG_LEVEL', default: 'info', parse: oneOf('debug', 'info', 'warn', 'error', 'silent'), describe: 'Log level (logs are JSON lines on stdout, written in batches within a tenth of a second).' },
  tlsCert: { env: 'HERALD_TLS_CERT', default: '', parse: optional, describe: 'PEM certificate chain file; a self-signed one is generated in the data directory when unset.' },
  tlsKey: { env: 'HERALD_TLS_KEY', default: '', parse: optional, describe: 'PEM private key file for HERALD_TLS_CERT.' },

  smtpBind: { env: 'HERALD_SMTP_BIND', default: '', parse: optional, describe: 'Address the SMTP listeners bind to (empty: all addresses).' },
  smtpSubmissionPort: { env: 'HERALD_SMTP_SUBMISSION_PORT', default: '587', parse: port, describe: 'Submission port (STARTTLS, AUTH after TLS); 0 disables.' },
  smtpSubmissionsPort: { env: 'HERALD_SMTP_SUBMISSIONS_PORT', default: '465', parse: port, describe: 'Submission port with implicit TLS; 0 disables.' },
  smtpMxPort: { env: 'HERALD_SMTP_MX_PORT', default: '25', parse: port, describe: 'MX port: mail for our own domains and from network credentials; 0 disables.' },
  httpPort: { env: 'HERALD_HTTP_PORT', default: '8080', parse: port, describe: 'HTTP port for the API, dashboard and /healthz; 0 disables.' },
  httpBind: { env: 'HERALD_HTTP_BIND', default: '', parse: optional, describe: 'Address the HTTP listener binds to (empty: all addresses).' },
  publicUrl: {
    env: 'HERALD_PUBLIC_URL',
    default: '',
    parse: publicUrl,
    describe: "The URL at which recipients' mail clients reach Herald's HTTP listener, for open, click and unsubscribe links (https behind a proxy in production); http://HERALD_HOSTNAME:HERALD_HTTP_PORT when unset.",
  },

  sessionTimeout: {
    env: 'HERALD_SESSION_TIMEOUT',
    default: '12h',
    parse: bounded(parseDuration, 60_000, 7 * 86_400_000, 'timeout'),
    describe: 'A dashboard session unused this long ends (each use renews it; none lasts more than 7 days after sign-in).',
  },
  loginMaxFailures: { env: 'HERALD_LOGIN_MAX_FAILURES', default: '5', parse: int(1, 1000), describe: 'Failed dashboard sign-ins in a row for one e-mail address before it is locked out.' },
  loginLockout: { env: 'HERALD_LOGIN_LOCKOUT', default: '15m', parse: bounded(parseDuration, 1000, 86_400_000, 'lock-out'), describe: 'How long an e-mail address stays locked out of the dashboard after too many failed sign-ins.' },

  maxMessageSize: { env: 'HERALD_MAX_MESSAGE_SIZE', default: '25MB', parse: bounded(parseByteSize, 1024, 1024 ** 3, 'size'), describe: 'Largest message accepted (advertised with SIZE).' },
  maxRecipients: { env: 'HERALD_MAX_RECIPIENTS', default: '1000', parse: int(1, 100_000), describe: 'Most recipients in one SMTP transaction; more get 452 4.5.3.' },
  maxLineLength: { env: 'HERALD_MAX_LINE_LENGTH', default: '1000', parse: int(1000, 1_000_000), describe: 'Longest command or message line in octets, CRLF included (RFC 5321 §4.5.3.1.6: 1000).' },
  bareLineEndings: { env: 'HERALD_BARE_LINE_ENDINGS', default: 'reject', parse: oneOf('reject', 'normalize'), describe: 'A bare CR or LF in DATA: reject the message (550 5.6.0) or normalise it to CRLF.' },
  maxConnections: { env: 'HERALD_MAX_CONNECTIONS', default: '1000', parse: int(1, 100_000), describe: 'Most concurrent SMTP connections in all.' },
  maxConnectionsPerIp: { env: 'HERALD_MAX_CONNECTIONS_PER_IP', default: '20', parse: int(1, 100_000), describe: 'Most concurrent SMTP connections from one client address (network credentials are exempt).' },
  authMaxFailures: { env: 'HERALD_AUTH_MAX_FAILURES', default: '5', parse: int(1, 1000), describe: 'Failed AUTH attempts from one address before it is locked out.' },
  authLockout: { env: 'HERALD_AUTH_LOCKOUT', default: '15m', parse: parseDuration, describe: 'How long an address stays locked out after too many failed logins.' },
  smtpIdleTimeout: { env: 'HERALD_SMTP_IDLE_TIMEOUT', default: '5m', parse: bounded(parseDuration, 100, 3_600_000, 'timeout'), describe: 'An SMTP session idle this long is closed with 421 4.4.2.' },
  smtpDataTimeout: { env: 'HERALD_SMTP_DATA_TIMEOUT', default: '10m', parse: bounded(parseDuration, 100, 3_600_000, 'timeout'), describe: 'The whole message (DATA) must arrive within this time, however steadily it trickles; then 421 4.4.2 and close.' },
  blockedClients: { env: 'HERALD_BLOCKED_CLIENTS', default: '', parse: networks, describe: 'Client networks (CIDRs, comma-separated) refused with 550 5.7.1.' },
  smtpProxyProtocol: {
    env: 'HERALD_SMTP_PROXY_PROTOCOL',
    default: 'off',
    parse: oneOf('off', 'on'),
    describe: 'on: connections to the SMTP listeners from HERALD_PROXY_TRUSTED start with a PROXY protocol header (v1 or v2, as HAProxy sends), and the client address in it is the one Herald uses.',
  },
  proxyTrusted: {
    env: 'HERALD_PROXY_TRUSTED',
    default: '',
    parse: networks,
    describe: 'The load balancers (CIDRs, comma-separated) whose connections must carry a PROXY header when HERALD_SMTP_PROXY_PROTOCOL=on; others connect as themselves.',
  },

  smartHost: { env: 'HERALD_SMART_HOST', default: '', parse: smartHost, describe: 'Relay all mail through this host instead of MX routing: smtp://user:pass@host:port or smtps://.' },
  sendingIps: {
    env: 'HERALD_SENDING_IPS',
    default: '',
    parse: ipAddresses,
    describe: "The public addresses Herald sends from (comma-separated), for the SPF records it asks domains to publish; when unset, SPF names HERALD_HOSTNAME's A/AAAA records.",
  },
  webhookAllowPrivate: {
    env: 'HERALD_WEBHOOK_ALLOW_PRIVATE',
    default: 'false',
    parse: oneOf('false', 'true'),
    describe: 'true lets webhook URLs reach loopback, private and link-local addresses (tests, or receivers on your own network); off by default against SSRF.',
  },
  dnsServers: { env: 'HERALD_DNS_SERVERS', default: '', parse: hostPorts, describe: 'DNS servers for MX lookups, domain verification and checks of inbound mail (host[:port], comma-separated); the system\'s when unset.' },
  outboundPort: { env: 'HERALD_OUTBOUND_PORT', default: '25', parse: int(1, 65535), describe: 'Port Herald connects to on remote MX hosts.' },
  retrySchedule: { env: 'HERALD_RETRY_SCHEDULE', default: '1m,5m,15m,30m,1h', parse: parseDurationList, describe: 'Waits between attempts, counted from the message\'s creation; the last one repeats.' },
  maxQueueAge: { env: 'HERALD_MAX_QUEUE_AGE', default: '5d', parse: bounded(parseDuration, 1000, 60 * 86_400_000, 'age'), describe: 'Give up and bounce (expire) a message this long after it was accepted.' },
  retention: {
    env: 'HERALD_RETENTION',
    default: '30d',
    parse: bounded(parseDuration, 3_600_000, 3650 * 86_400_000, 'retention'),
    describe: 'How long finished messages (delivered, bounced, expired) are kept, with their bodies and attempts, before they are removed. 1 hour to 10 years.',
  },
  eventRetention: {
    env: 'HERALD_EVENT_RETENTION',
    default: '30d',
    parse: bounded(parseDuration, 3_600_000, 3650 * 86_400_000, 'retention'),
    describe: 'How long events (message timelines, the webhook and pull-API stream) are kept before they are removed, whatever became of their messages: a message kept longer shows a shorter timeline. 1 hour to 10 years.',
  },
  statsRetention: {
    env: 'HERALD_STATS_RETENTION',
    default: '400d',
    parse: bounded(parseDuration, 86_400_000, 3650 * 86_400_000, 'retention'),
    describe: 'How long the hourly statistics roll-ups (GET /api/v1/stats, herald stats) are kept; they outlive the messages and events they count.',
  },
  deliveryConcurrency: { env: 'HERALD_DELIVERY_CONCURRENCY', default: '100', parse: int(1, 10_000), describe: 'Most delivery attempts in flight in all.' },
  destinationConcurrency: { env: 'HERALD_DESTINATION_CONCURRENCY', default: '10', parse: int(1, 1000), describe: 'Most connections to one destination domain at a time.' },
  destinationRate: {
    env: 'HERALD_DESTINATION_RATE',
    default: '0',
    parse: int(0, 1_000_000),
    describe: 'Most messages per minute sent to one destination domain, counting a message once however many of its recipients are at that domain, across the cluster; 0 = no limit.',
  },
  deliveryLease: {
    env: 'HERALD_DELIVERY_LEASE',
    default: '10m',
    parse: bounded(parseDuration, 1000, 6 * 3_600_000, 'lease'),
    describe:
      'How long a claimed delivery (and its connection slot) belongs to the node attempting it; after that, another node may take it over. Must outlast the slowest attempt (the remote may take 10 minutes to answer the end of DATA); on a cluster, it is how long the work of a node that died waits.',
  },
  connectTimeout: { env: 'HERALD_CONNECT_TIMEOUT', default: '30s', parse: parseDuration, describe: 'Timeout for connecting to a remote host and reading its greeting.' },

  softBounceLimit: {
    env: 'HERALD_SOFT_BOUNCE_LIMIT',
    default: '5',
    parse: int(0, 1000),
    describe: 'Soft bounces and expiries of one address, with no delivery in between, within HERALD_SOFT_BOUNCE_WINDOW that put it on the suppression list (reason soft_bounces); 0 disables.',
  },
  softBounceWindow: {
    env: 'HERALD_SOFT_BOUNCE_WINDOW',
    default: '7d',
    parse: bounded(parseDuration, 0, 365 * 86_400_000, 'window'),
    describe: 'The window in which HERALD_SOFT_BOUNCE_LIMIT soft bounces are counted; 0 disables.',
  },
  shutdownTimeout: {
    env: 'HERALD_SHUTDOWN_TIMEOUT',
    default: '30s',
    parse: bounded(parseDuration, 0, 3_600_000, 'timeout'),
    describe: 'On SIGTERM, how long SMTP transactions, API requests and delivery attempts in flight may take to finish before they are cut off.',
  },
  metrics: { env: 'HERALD_METRICS', default: 'on', parse: oneOf('on', 'off'), describe: 'Serve Prometheus metrics at GET /metrics on the HTTP listener (to HERALD_METRICS_ALLOW only).' },
  metricsAllow: {
    env: 'HERALD_METRICS_ALLOW',
    default: '127.0.0.0/8,::1',
    parse: networks,
    describe: 'Client networks (CIDRs, comma-separated) allowed to read /metrics; others get 403.',
  },
  metricsDomains: {
    env: 'HERALD_METRICS_DOMAINS',
    default: '20',
    parse: int(0, 1000),
    describe: 'Destination domains that get their own label in the delivery metrics (the first ones seen since start); the rest count as "other".',
  },
  bounceRules: {
    env: 'HERALD_BOUNCE_RULES',
    default: '',
    parse: optional,
    describe: 'A JSON file of your own bounce rules for bounces without a delivery status report, tried before the rules Herald ships (see docs/feedback.md).',
  },
} satisfies Record<string, Setting<unknown>>;

export type ConfigKey = keyof typeof SCHEMA;
export type HeraldConfig = { [K in ConfigKey]: ReturnType<(typeof SCHEMA)[K]['parse']> };
