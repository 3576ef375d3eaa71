import { useCallback, useEffect, useState } from 'react';
import { api, setCsrf, whenSignedOut, type SessionInfo } from './api';
import { Link, navigate, useLocation } from './router';
import { SignInPage } from './pages/sign-in';
import { OverviewPage } from './pages/overview';
import { MessagesPage } from './pages/messages';
import { MessagePage } from './pages/message';
import { DomainsPage } from './pages/domains';
import { DomainPage } from './pages/domain';
import { KeysPage } from './pages/keys';
import { WebhookPage, WebhooksPage } from './pages/webhooks';
import { SuppressionsPage } from './pages/suppressions';
import { TemplatePage, TemplatesPage } from './pages/templates';

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/messages', label: 'Messages' },
  { href: '/domains', label: 'Domains' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/suppressions', label: 'Suppressions' },
  { href: '/templates', label: 'Templates' },
  { href: '/keys', label: 'Keys' },
];

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const { path, search } = useLocation();

  const adopt = useCallback((s: SessionInfo | null) => {
    setCsrf(s?.csrf ?? '');
    setSession(s);
  }, []);

  useEffect(() => {
    whenSignedOut(() => adopt(null));
    api<SessionInfo>('GET', '/api/v1/session').then(adopt, () => adopt(null));
  }, [adopt]);

  if (session === undefined) return <p className="loading" role="status">Loading…</p>;
  if (session === null) {
    return (
      <SignInPage
        onSignedIn={(s) => {
          adopt(s);
          if (path === '/sign-in') navigate('/', { replace: true });
        }}
      />
    );
  }

  const signOut = async () => {
    await api('DELETE', '/api/v1/session').catch(() => {});
    adopt(null);
    navigate('/sign-in', { replace: true });
  };
  const switchAccount = async (account: string) => {
    adopt(await api<SessionInfo>('PUT', '/api/v1/session/account', { account }));
    // A list stays open and reloads for the new account; one message, domain or template belongs
    // to the old account, so its section's list opens instead.
    const section = /^\/[^/]+\/./.test(path) ? path.slice(0, path.indexOf('/', 1)) : null;
    if (section) navigate(section);
  };
  const admin = session.account.scope === 'admin';

  let page;
  let m: RegExpExecArray | null;
  if (path === '/' || path === '/sign-in') page = <OverviewPage />;
  else if (path === '/messages') page = <MessagesPage search={search} admin={admin} />;
  else if ((m = /^\/messages\/([^/]+)$/.exec(path))) page = <MessagePage id={decodeURIComponent(m[1])} admin={admin} />;
  else if (path === '/domains') page = <DomainsPage admin={admin} />;
  else if ((m = /^\/domains\/([^/]+)$/.exec(path))) page = <DomainPage name={decodeURIComponent(m[1])} admin={admin} />;
  else if (path === '/webhooks') page = <WebhooksPage admin={admin} />;
  else if ((m = /^\/webhooks\/([^/]+)$/.exec(path))) page = <WebhookPage id={decodeURIComponent(m[1])} admin={admin} />;
  else if (path === '/keys') page = <KeysPage admin={admin} />;
  else if (path === '/suppressions') page = <SuppressionsPage search={search} admin={admin} />;
  else if (path === '/templates') page = <TemplatesPage admin={admin} />;
  else if (path === '/templates/new') page = <TemplatePage key="new" id={null} admin={admin} />;
  else if ((m = /^\/templates\/([^/]+)$/.exec(path))) page = <TemplatePage key={m[1]} id={decodeURIComponent(m[1])} admin={admin} />;
  else page = <NotFound />;

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Herald
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => {
              const current = n.href === '/' ? path === '/' : path.startsWith(n.href);
              return (
                <li key={n.href}>
                  <Link href={n.href} aria-current={current ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="who">
          {session.accounts.length > 1 ? (
            <label>
              <span className="visually-hidden">Account</span>
              <select value={session.account.id} onChange={(e) => void switchAccount(e.target.value)}>
                {session.accounts.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <span className="account">{session.account.name}</span>
          )}
          <span className="user" title={`${session.account.role} of ${session.account.name}`}>
            {session.user.email} · {session.account.role}
          </span>
          <button type="button" className="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {/* Keyed by account: switching accounts mounts the page afresh, so it loads that account's data. */}
      <main id="main" tabIndex={-1} key={session.account.id}>
        {page}
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no such page. Go to the <Link href="/">overview</Link>.
      </p>
    </section>
  );
}
