/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against Herald in
 * this process (real HTTP, delivery to an SMTP sink). Screenshots of the main pages go to
 * docs/screenshots/. Skipped with a reason when chromium is missing (a failure under
 * HERALD_TEST_STRICT=1, where CI has installed it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { call, startApiWorld, type ApiWorld } from '../support/api.js';
import { dataDirEnv } from '../support/engine.js';
import { STRICT } from '../support/peers.js';
import { REPO_ROOT, runCli } from '../support/processes.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');
const PASSWORD = 'correct horse battery';

function missing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `needs ${CHROMIUM} (install: apt-get install chromium)`;
  if (STRICT) throw new Error(`HERALD_TEST_STRICT=1 and a peer is missing: ${reason}`);
  console.log(`# skip: ${reason}`);
  return reason;
}

const skip = missing();
let world: ApiWorld;
let browser: Browser;
let receiver: WebhookReceiver;

before(async () => {
  if (skip) return;
  // `npm ci` builds the dashboard; a checkout that has not been built yet is built here.
  if (!existsSync(join(REPO_ROOT, 'dist', 'dashboard', 'index.html'))) {
    const built = spawnSync('npm', ['run', 'build:dashboard'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, `npm run build:dashboard failed: ${built.stderr}`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The test's webhook receiver listens on loopback.
  world = await startApiWorld({ HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' });
  receiver = await startWebhookReceiver();
  const env = dataDirEnv(world.herald.env.HERALD_DATA_DIR!);
  for (const [email, role] of [['owner@example.com', 'owner'], ['viewer@example.com', 'viewer']]) {
    const created = await runCli(['users', 'create', '--email', email, '--role', role, '--password', PASSWORD, '--json'], env);
    assert.equal(created.code, 0, created.stderr);
  }
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await world?.close();
  await receiver?.close();
});

async function newPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('dashboard page error:', err));
  return page;
}

async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto(world.base + '/');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// axe-core's checks run inside the page; only the problems that block or badly hinder someone fail.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function accessibilityProblems(page: Page): Promise<string[]> {
  // The page's policy (script-src 'self') refuses an inline <script>, so addScriptTag cannot load
  // axe; evaluated by the browser's debugging protocol, the source is not subject to the policy.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    // The sandboxed mail preview runs no script, so axe cannot look inside it (it would wait for it).
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, iframes: false });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join(' | ')}`);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

test('dashboard pages carry the security headers; unknown paths get the app, the API keeps its 404s', { skip }, async () => {
  const index = await fetch(world.base + '/');
  assert.equal(index.status, 200);
  assert.equal(
    index.headers.get('content-security-policy'),
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  );
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(index.headers.get('referrer-policy'), 'same-origin');
  const html = await index.text();
  assert.doesNotMatch(html.replace(/<script type="module" crossorigin src="\/assets\/[^"]+"><\/script>/, ''), /<script/, 'no inline script');
  const deep = await fetch(world.base + '/messages/01jz000000000000000000000a');
  assert.equal(deep.status, 200);
  assert.equal(await deep.text(), html);
  assert.equal((await fetch(world.base + '/assets/nope.js')).status, 404);
  const api = await call(world.base, 'GET', '/api/v1/nope');
  assert.equal(api.status, 404);
  assert.equal(api.body.error.code, 'not_found');
  assert.equal((await call(world.base, 'GET', '/healthz')).body.status, 'ok');
});

test('a wrong password is refused on the page', { skip }, async () => {
  const page = await newPage();
  await signIn(page, 'owner@example.com', 'not the password at all');
  await page.getByRole('alert').filter({ hasText: 'the e-mail address or the password is not right' }).waitFor();
  await shot(page, 'sign-in');
  await page.context().close();
});

test('sign in, send through the API, find the message, open its timeline; its HTML stays inert', { skip }, async () => {
  const page = await newPage();
  // Requests that reached the network; one that the frame's policy blocks fails with a reason.
  const requests: string[] = [];
  const blocked: string[] = [];
  const dialogs: string[] = [];
  page.on('requestfinished', (r) => requests.push(r.url()));
  page.on('requestfailed', (r) => blocked.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await signIn(page, 'owner@example.com');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  const payload =
    '<h1>Hi there</h1><p>Your order has shipped.</p>' +
    '<script>document.title="pwned";parent.document.title="pwned";top.__pwned=1;new Image().src="/pwned-script"</script>' +
    '<img src="x" onerror="parent.document.title=\'pwned\';alert(\'pwned\');new Image().src=\'/pwned-onerror\'">' +
    '<img src="https://tracker.example/pwned-remote.gif">' +
    '<p><a href="https://shop.example/orders/1">Track your parcel</a></p>';
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: {
      from: 'shop@herald.test',
      to: 'ann@a.test',
      subject: 'Your order has shipped',
      html: payload,
      text: 'Hi there, your order is on its way.',
      tags: ['orders'],
      headers: { 'X-Order': 'A-1001' },
      track_opens: true,
      track_links: 'html_only',
    },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  await world.events.finished(sent.body.id, 1);
  await world.herald.statsFeeder.runOnce();

  await page.reload();
  await page.locator('tr[data-metric="delivered"] td').first().getByText('1', { exact: true }).waitFor();
  // The change from the period before: none was sent in the hour before this one.
  await page.locator('tr[data-metric="sent"] td').first().getByLabel('none the period before').waitFor();
  await page.locator('tr[data-metric="bounced"] td').first().getByLabel('the same as the period before').waitFor();
  // Two charts: the last 24 hours by hour, the last 30 days by day.
  await page.getByRole('img', { name: /per hour over the last 24 hours/ }).locator('canvas').waitFor();
  await page.getByRole('img', { name: /per day over the last 30 days/ }).locator('canvas').waitFor();
  await shot(page, 'overview');

  await page.getByRole('link', { name: 'Messages' }).click();
  await page.getByLabel('Recipient').fill('ann@a.test');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/recipient=ann%40a\.test/);
  const link = page.getByRole('link', { name: 'Your order has shipped' });
  await link.waitFor();
  await shot(page, 'messages');

  // A search by subject text (any case) and the sender's domain, kept in the address.
  await page.getByLabel('Recipient').fill('');
  await page.getByLabel('Subject').fill('no such subject');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/subject=no\+such\+subject/);
  await link.waitFor({ state: 'detached' });
  await page.getByLabel('Subject').fill('ORDER HAS');
  await page.getByLabel('Sender').fill('@herald.test');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/subject=ORDER\+HAS/);
  assert.match(page.url(), /sender=%40herald\.test/);
  await link.waitFor();
  assert.equal(await page.getByLabel('Subject').inputValue(), 'ORDER HAS');

  // Listening before the click: the frame may load its document before the page is checked.
  const htmlLoaded = page.waitForResponse((r) => r.url().endsWith(`/api/v1/messages/${sent.body.id}/html`));
  await link.click();
  await page.waitForURL(new RegExp(`/messages/${sent.body.id}$`));
  const timeline = page.getByRole('list', { name: 'Timeline of ann@a.test' });
  await timeline.locator('li[data-event="accepted"]').waitFor();
  await timeline.locator('li[data-event="delivered"]').waitFor();
  // The sink's reply is shown on the delivered line.
  assert.match(await timeline.locator('li[data-event="delivered"]').innerText(), /250/);
  const frame = page.locator('iframe.preview');
  assert.equal(await frame.getAttribute('sandbox'), '');
  assert.equal((await htmlLoaded).status(), 200);
  // The frame has loaded its document (the payload had every chance to run).
  await page.waitForFunction(() => {
    const f = document.querySelector('iframe.preview') as HTMLIFrameElement | null;
    return f !== null && f.getAttribute('src') !== null;
  });
  await page.waitForLoadState('load');
  // The text part and every header, beside the HTML.
  await page.getByLabel('Text part').getByText('Hi there, your order is on its way.').waitFor();
  const headers = page.getByRole('table', { name: 'Headers' });
  await headers.getByRole('row', { name: /X-Order\s+A-1001/ }).waitFor();
  await headers.getByRole('row', { name: /Subject\s+Your order has shipped/ }).waitFor();

  // The recipient opens the message and clicks its link (the frame blocked the pixel, so these
  // are the only hits): both appear in the timeline as they happen, without reloading.
  const html = await (await fetch(`${world.base}/api/v1/messages/${sent.body.id}/html`, { headers: { authorization: `Bearer ${world.adminKey}` } })).text();
  const pixel = /\/t\/o\/[^"'\s>]+/.exec(html)?.[0];
  const click = /\/t\/c\/[^"'\s>]+/.exec(html)?.[0];
  assert.ok(pixel && click, 'the HTML has a tracking pixel and a tracked link');
  const ua = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' };
  assert.equal((await fetch(`${world.base}${pixel}`, { headers: ua })).status, 200);
  assert.equal((await fetch(`${world.base}${click}`, { headers: ua, redirect: 'manual' })).status, 302);
  await timeline.locator('li[data-event="opened"]').waitFor();
  await timeline.locator('li[data-event="clicked"]').waitFor();
  assert.match(await timeline.locator('li[data-event="clicked"]').innerText(), /https:\/\/shop\.example\/orders\/1/);
  await shot(page, 'message');

  assert.equal(await page.title(), 'Herald');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(requests.filter((u) => u.includes('pwned')), [], 'no payload made a request');
  assert.ok(blocked.some((b) => b.startsWith('https://tracker.example/pwned-remote.gif') && /csp|blocked/i.test(b)), `the remote image was blocked by the policy (${blocked.join('; ')})`);
  await page.context().close();
});

test('domains: add one and see its records with copy buttons and their status', { skip }, async () => {
  const page = await newPage();
  await signIn(page, 'owner@example.com');
  await page.getByRole('link', { name: 'Domains' }).click();
  await page.getByLabel('Add a domain').fill('shop.example');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.waitForURL(/\/domains\/shop\.example$/);
  const dkim = page.locator('li.record[data-purpose="dkim"]');
  await dkim.waitFor();
  assert.match(await dkim.innerText(), /_domainkey\.shop\.example/);
  await page.getByRole('button', { name: 'Copy dkim record value' }).first().waitFor();
  await page.getByRole('button', { name: 'Check the records now' }).click();
  await page.locator('li.record[data-purpose="dkim"] .status-missing').first().waitFor();
  assert.match(await page.locator('li.record[data-purpose="dkim"]').first().innerText(), /Fix:/);
  await shot(page, 'domain');
  await page.getByRole('link', { name: 'Domains' }).first().click();
  await page.getByRole('link', { name: 'shop.example' }).waitFor();
  await shot(page, 'domains');
  await page.context().close();
});

test('hold and release a message from its page; the page follows its delivery live', { skip }, async () => {
  const page = await newPage();
  await signIn(page, 'owner@example.com');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: { from: 'shop@herald.test', to: 'later@a.test', subject: 'Your invoice', text: 'Due soon', send_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  await page.goto(`${world.base}/messages/${sent.body.id}`);
  const actions = page.getByRole('group', { name: 'Message actions' });
  await actions.getByRole('button', { name: 'Hold' }).click();
  await page.getByRole('status').filter({ hasText: '1 recipient held.' }).waitFor();
  await page.locator('.facts .status-held').waitFor();
  await actions.getByRole('button', { name: 'Release' }).waitFor();
  assert.equal(await actions.getByRole('button', { name: 'Hold' }).count(), 0);
  await shot(page, 'message-actions');
  // Released means due now: the delivery shows up on the open page through the event stream.
  await actions.getByRole('button', { name: 'Release' }).click();
  await page.getByRole('list', { name: 'Timeline of later@a.test' }).locator('li[data-event="delivered"]').waitFor();
  await page.locator('.facts .status-delivered').waitFor();
  assert.equal(await actions.getByRole('button').count(), 0, 'nothing left to do with a delivered message');

  const first = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: { from: 'shop@herald.test', to: 'bulk@a.test', subject: 'Bulk one', text: 'x', tags: ['bulk'], send_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  await page.goto(`${world.base}/messages?tag=bulk`);
  await page.getByRole('checkbox', { name: 'Select Bulk one' }).check();
  await page.getByLabel('With the selected messages').selectOption('hold');
  await page.getByRole('button', { name: 'Apply to 1 selected' }).click();
  await page.getByRole('status').filter({ hasText: '1 message held.' }).waitFor();
  await page.locator('tr', { hasText: 'Bulk one' }).locator('.status-held').waitFor();
  await shot(page, 'messages-bulk');
  assert.equal((await call(world.base, 'POST', `/api/v1/messages/${first.body.id}/cancel`, { key: world.adminKey })).status, 200);
  await page.context().close();
});

test('webhooks: add an endpoint, send it a test event, see the attempt; keys and credentials', { skip }, async () => {
  const page = await newPage();
  await signIn(page, 'owner@example.com');
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('Endpoint URL').fill(receiver.url('/hooks'));
  await page.getByLabel('Description').fill('CRM sync');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const secret = page.locator('.secret .field code');
  await secret.waitFor();
  receiver.secret = await secret.innerText();
  assert.match(receiver.secret, /^whsec_/);
  await page.getByRole('link', { name: receiver.url('/hooks') }).waitFor();
  await shot(page, 'webhooks');

  await page.getByRole('link', { name: 'Open the new endpoint' }).click();
  const before = receiver.requests.length;
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.getByRole('status').filter({ hasText: /Test event .* delivered: HTTP 200/ }).waitFor();
  const got = (await receiver.waitFor(before + 1)).slice(before).find((r) => r.json?.type === 'webhook.test');
  assert.ok(got, 'the receiver got the test event');
  assert.equal(got.verified, true, 'signed with the secret the page showed');
  await page.locator('tr[data-event-type="webhook.test"]').first().waitFor();
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.locator('.facts .status-wrong').filter({ hasText: 'disabled' }).waitFor();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByRole('button', { name: 'Disable' }).waitFor();
  await shot(page, 'webhook');

  await page.getByRole('link', { name: 'Keys' }).click();
  await page.getByLabel('Key name').fill('shop-backend');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = await page.locator('.secret .field code').innerText();
  const account = await call(world.base, 'GET', '/api/v1/account', { key });
  assert.equal(account.status, 200, 'the key shown once works');
  assert.equal(account.body.key.scope, 'send');
  await page.getByLabel('Credential name').fill('billing-app');
  await page.getByRole('button', { name: 'Create SMTP credential' }).click();
  await page.getByRole('table', { name: 'SMTP credentials' }).getByRole('cell', { name: 'billing-app', exact: true }).waitFor();
  await shot(page, 'keys');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Revoke shop-backend' }).click();
  await page.getByRole('button', { name: 'Revoke shop-backend' }).waitFor({ state: 'detached' });
  assert.equal((await call(world.base, 'GET', '/api/v1/account', { key })).status, 401, 'a revoked key stops working');
  await page.context().close();
});

test('suppressions: add addresses, find one, import a CSV file, remove one', { skip }, async () => {
  const page = await newPage();
  await signIn(page, 'owner@example.com');
  await page.getByRole('link', { name: 'Suppressions' }).click();
  await page.getByRole('heading', { name: 'Suppressions' }).waitFor();
  await page.getByLabel('Addresses').fill('ann@supp.example\nbob@supp.example, not-an-address');
  await page.getByLabel('Add suppressions').getByLabel('Stream').selectOption('broadcast');
  await page.getByRole('button', { name: 'Suppress' }).click();
  // The batch is all or nothing on the server: the bad address is set aside and named, the rest added.
  await page.getByRole('alert').filter({ hasText: 'Suppressed: 2 entries added' }).waitFor();
  await page.getByRole('alert').getByText(/not-an-address/).waitFor();
  const ann = await call(world.base, 'GET', '/api/v1/suppressions/ann@supp.example', { key: world.adminKey });
  assert.equal(ann.status, 200);
  assert.deepEqual(ann.body.suppressions.map((s: { stream: string; reason: string }) => [s.stream, s.reason]), [['broadcast', 'manual']]);

  const csv = 'Email Address,First Name\r\n"Carol <carol@supp.example>",Carol\r\ndave@supp.example,Dave\r\n,nobody\r\n';
  await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('alert').filter({ hasText: 'Imported list.csv: 2 addresses — 4 entries added' }).waitFor();
  await page.getByRole('alert').getByText('line 4: no address in ",nobody"').waitFor();

  await page.getByLabel('Address contains').fill('supp.example');
  await page.getByRole('button', { name: 'Search' }).click();
  const table = page.getByRole('table', { name: 'Suppressed addresses' });
  await table.getByRole('cell', { name: 'dave@supp.example' }).first().waitFor();
  assert.equal(await table.locator('tbody tr').count(), 6, 'ann, bob (broadcast) and carol, dave (both streams)');
  await page.getByLabel('Address contains').fill('ann@');
  await page.getByRole('button', { name: 'Search' }).click();
  await table.getByRole('cell', { name: 'bob@supp.example', exact: true }).waitFor({ state: 'detached' });
  assert.equal(await table.locator('tbody tr').count(), 1);
  await shot(page, 'suppressions');

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const exported = await (await download).createReadStream();
  let text = '';
  for await (const chunk of exported) text += chunk;
  assert.match(text, /^address,stream,reason,created_at,expires_at,message_id,detail\r\nann@supp\.example,broadcast,manual,/);

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Remove ann@supp.example (broadcast)' }).click();
  await page.getByRole('status').filter({ hasText: 'Removed ann@supp.example (broadcast).' }).waitFor();
  await page.getByText('No suppressed addresses match.').waitFor();
  assert.equal((await call(world.base, 'GET', '/api/v1/suppressions/ann@supp.example', { key: world.adminKey })).status, 404, 'Herald sends to it again');
  await page.context().close();
});

test('templates: create one, preview it with sample data (inert HTML), see an error with its line, save a version', { skip }, async () => {
  const page = await newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await signIn(page, 'owner@example.com');
  await page.getByRole('link', { name: 'Templates' }).click();
  await page.getByRole('link', { name: 'New template' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Welcome mail');
  await page.getByLabel('Alias').fill('welcome');
  await page.getByLabel('Subject').fill('Welcome, {{user.name}}!');
  await page.getByLabel('HTML').fill('<h1>Hi {{user.name}}</h1><p>Your plan: {{plan}}</p><img src=x onerror="alert(1)"><script>alert(2)</script>');
  await page.getByLabel('Text', { exact: true }).fill('Hi {{user.name}}, your plan: {{plan}}');
  await page.getByLabel('Sample data (JSON)').fill('{ "user": { "name": "Ann" }, "plan": "Pro" }');
  await page.getByTestId('preview-subject').filter({ hasText: 'Welcome, Ann!' }).waitFor();
  await page.getByTestId('preview-text').filter({ hasText: 'Hi Ann, your plan: Pro' }).waitFor();
  const frame = page.frameLocator('iframe[title="HTML preview"]');
  await frame.getByRole('heading', { name: 'Hi Ann' }).waitFor();
  await frame.getByText('Your plan: Pro').waitFor();
  const sandbox = await page.locator('iframe[title="HTML preview"]').getAttribute('sandbox');
  assert.equal(sandbox, '', 'no allow-scripts, no allow-same-origin');

  await page.getByRole('button', { name: 'Create template' }).click();
  await page.getByRole('heading', { name: /Welcome mail/ }).getByText('version 1').waitFor();
  const created = await call(world.base, 'GET', '/api/v1/templates/welcome', { key: world.adminKey });
  assert.equal(created.status, 200);
  assert.equal(created.body.subject, 'Welcome, {{user.name}}!');

  // A syntax error is shown with its part, line and column while typing; saving is refused.
  await page.getByLabel('HTML').fill('<h1>Hi {{user.name}}</h1>\n<p>{{#if plan}}Plan: {{plan}}</p>');
  await page.getByRole('alert', { name: 'Template problem' }).filter({ hasText: /html: line 2, column \d+/ }).waitFor();
  await page.getByLabel('HTML').fill('<h1>Hi {{user.name}}</h1>\n<p>{{#if plan}}Plan: {{plan}}{{/if}}</p>');
  await frame.getByText('Plan: Pro').waitFor();
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved as version 2.' }).waitFor();
  const table = page.getByRole('table', { name: 'Versions' });
  await table.getByRole('cell', { name: '2 (latest)' }).waitFor();
  await table.getByRole('cell', { name: '1', exact: true }).waitFor();
  await shot(page, 'template');
  assert.equal((await call(world.base, 'GET', '/api/v1/templates/welcome', { key: world.adminKey })).body.version, 2);
  assert.deepEqual(dialogs, [], 'the preview ran no script');

  await page.getByRole('link', { name: 'Templates', exact: true }).first().click();
  await page.getByRole('table', { name: 'Templates' }).getByRole('link', { name: 'Welcome mail' }).waitFor();
  await shot(page, 'templates');
  await page.context().close();
});

test('a viewer sees no admin buttons, and the API refuses the admin action anyway', { skip }, async () => {
  const page = await newPage({ width: 390, height: 844 });
  await signIn(page, 'viewer@example.com');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByRole('link', { name: 'Domains' }).click();
  await page.getByRole('heading', { name: 'Domains' }).waitFor();
  assert.equal(await page.getByLabel('Add a domain').count(), 0);
  const status = await page.evaluate(async () => {
    const session = await (await fetch('/api/v1/session')).json();
    const res = await fetch('/api/v1/domains', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-csrf': session.csrf },
      body: JSON.stringify({ name: 'viewer.example' }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(status.status, 403);
  assert.match(status.body.error.message, /"read" scope; this call needs "admin"/);
  await page.getByRole('link', { name: 'Messages' }).click();
  await page.getByRole('heading', { name: 'Messages' }).waitFor();
  await page.getByRole('link', { name: 'Your order has shipped' }).first().waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no selection for bulk actions');
  assert.equal(await page.getByRole('group', { name: 'Bulk actions' }).count(), 0);
  await shot(page, 'messages-phone');
  // A message waiting for delivery: an admin would see Retry now, Hold and Cancel here.
  const waiting = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: { from: 'shop@herald.test', to: 'wait@a.test', subject: 'Waiting', text: 'x', send_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  await page.goto(`${world.base}/messages/${waiting.body.id}`);
  await page.getByRole('heading', { name: 'Waiting' }).waitFor();
  await page.locator('.facts .status-queued').waitFor();
  assert.equal(await page.getByRole('group', { name: 'Message actions' }).getByRole('button').count(), 0, 'no action buttons');
  const hold = await page.evaluate(async () => {
    const session = await (await fetch('/api/v1/session')).json();
    const res = await fetch('/api/v1/messages/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-csrf': session.csrf },
      body: JSON.stringify({ action: 'hold', ids: [location.pathname.split('/').pop()] }),
    });
    return res.status;
  });
  assert.equal(hold, 403);
  await page.context().close();
});

test('an operator switches the account in the header and sees that account’s messages, domains and queue', { skip }, async () => {
  const env = dataDirEnv(world.herald.env.HERALD_DATA_DIR!);
  const account = await runCli(['accounts', 'create', 'acme', '--json'], env);
  assert.equal(account.code, 0, account.stderr);
  // acme has no verified domain yet: it sends in development mode.
  const dev = await runCli(['domains', 'development-mode', 'on', '--account', (JSON.parse(account.stdout) as { id: string }).id], env);
  assert.equal(dev.code, 0, dev.stderr);
  const key = await runCli(['api-keys', 'create', '--name', 'acme-admin', '--scope', 'admin', '--account', 'acme', '--json'], env);
  assert.equal(key.code, 0, key.stderr);
  const acmeKey = (JSON.parse(key.stdout) as { key: string }).key;
  const operator = await runCli(['users', 'create', '--email', 'ops@example.com', '--operator', '--password', PASSWORD, '--json'], env);
  assert.equal(operator.code, 0, operator.stderr);

  // In acme: a delivered message, one scheduled for later (it waits in the queue) and a domain
  // whose records are not published yet.
  const sent = await call(world.base, 'POST', '/api/v1/messages', { key: acmeKey, body: { from: 'billing@herald.test', to: 'bob@b.test', subject: 'Acme invoice 42', text: 'x' } });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  await world.events.finished(sent.body.id, 1);
  const later = await call(world.base, 'POST', '/api/v1/messages', {
    key: acmeKey,
    body: { from: 'billing@herald.test', to: 'carol@b.test', subject: 'Acme reminder', text: 'x', send_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  assert.equal(later.status, 202, JSON.stringify(later.body));
  assert.equal((await call(world.base, 'POST', '/api/v1/domains', { key: acmeKey, body: { name: 'acme.example' } })).status, 201);

  const page = await newPage();
  await signIn(page, 'ops@example.com');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const picker = page.getByLabel('Account');
  assert.equal(await picker.inputValue(), (await call(world.base, 'GET', '/api/v1/account', { key: world.adminKey })).body.id, 'the operator starts on default');
  await page.getByRole('link', { name: 'Messages' }).click();
  await page.getByRole('heading', { name: 'Messages' }).waitFor();
  await page.getByRole('link', { name: 'Your order has shipped' }).first().waitFor();
  assert.equal(await page.getByRole('link', { name: 'Acme invoice 42' }).count(), 0, 'acme’s mail is not in default’s list');

  await picker.selectOption({ label: 'acme' });
  // The list stays open and reloads for acme.
  await page.getByRole('link', { name: 'Acme invoice 42' }).waitFor();
  await page.getByRole('heading', { name: 'Messages' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Your order has shipped' }).count(), 0, 'default’s mail is gone from the list');
  assert.match(await page.locator('.who .user').innerText(), /ops@example\.com · admin/);

  // The overview names acme's domain that needs attention (linking to it) and the queue's oldest message.
  await page.getByRole('link', { name: 'Overview' }).click();
  const attention = page.getByRole('list', { name: 'Domains that need attention' });
  await attention.getByRole('link', { name: 'acme.example' }).waitFor();
  assert.match(await page.getByTestId('queue-oldest').innerText(), /The oldest waiting message was accepted .* ago/);
  await page.locator('.chart canvas').first().waitFor();
  await shot(page, 'overview-attention');
  await attention.getByRole('link', { name: 'acme.example' }).click();
  await page.waitForURL(/\/domains\/acme\.example$/);

  // From a domain's page, switching back opens default's list of domains (acme.example is not there).
  await picker.selectOption({ label: 'default' });
  await page.waitForURL(/\/domains$/);
  await page.getByRole('heading', { name: 'Domains' }).waitFor();
  await page.getByRole('link', { name: 'shop.example' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'acme.example' }).count(), 0);
  await page.context().close();
});

test('the main pages pass axe’s WCAG 2 A and AA checks in light and dark, and on a phone', { skip }, async () => {
  const sent = await call(world.base, 'POST', '/api/v1/messages', {
    key: world.adminKey,
    body: { from: 'shop@herald.test', to: 'axe@a.test', subject: 'Checked for contrast', text: 'Hello', tags: ['a11y'] },
  });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  await world.events.finished(sent.body.id, 1);
  const pages: [string, string | RegExp][] = [
    ['/', 'Overview'],
    ['/messages', 'Messages'],
    [`/messages/${sent.body.id}`, 'Checked for contrast'],
    ['/domains', 'Domains'],
    ['/webhooks', 'Webhooks'],
    ['/keys', 'Keys and credentials'],
    ['/suppressions', 'Suppressions'],
    ['/templates', 'Templates'],
  ];
  const problems: string[] = [];
  const check = async (page: Page, path: string, heading: string | RegExp, label: string) => {
    await page.goto(world.base + path);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.locator('main .loading').waitFor({ state: 'detached' });
    for (const p of await accessibilityProblems(page)) problems.push(`${label} ${path}: ${p}`);
  };
  for (const scheme of ['light', 'dark'] as const) {
    const page = await newPage();
    await page.emulateMedia({ colorScheme: scheme });
    await signIn(page, 'owner@example.com');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    for (const [path, heading] of pages) await check(page, path, heading, scheme);
    await page.context().close();
  }
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone, 'owner@example.com');
  await phone.getByRole('heading', { name: 'Overview' }).waitFor();
  await check(phone, '/messages', 'Messages', 'phone');
  await phone.context().close();
  assert.deepEqual(problems, []);
});
