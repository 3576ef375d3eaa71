/**
 * receive — the SMTP listeners: submission (587, STARTTLS), submissions (465, implicit TLS) and
 * MX (25). They turn SMTP sessions into a `Submission` for the accept pipeline; protocol and
 * the edge's own limits only, no message policy.
 *
 * Invariants:
 * - 250 after DATA is sent only after `accept()` resolved, i.e. after the durable commit; any
 *   failure other than a typed SmtpRejection is answered 451 4.3.0 and logged, never sent.
 * - Every reply Herald documents goes out with its own code, enhanced code and text
 *   (smtp-server's derived codes and texts are rewritten, see smtp-server-patches.ts).
 * - AUTH (PLAIN, LOGIN) is offered and accepted only inside TLS; the submission ports take MAIL
 *   only after AUTH or from a network credential's address; the MX port relays only for
 *   network credentials (550 5.7.1 Relaying denied otherwise).
 * - The submission ports greet at once (no early-talker wait, no reverse DNS); the MX port
 *   keeps smtp-server's 100 ms early-talker check.
 * - Limits (blocked clients, connections in all and per address, AUTH lockout, idle timeout,
 *   line length, recipients, size) come from HeraldConfig; counters are in memory.
 *
 * - Stopping (`drain`, then `stop`): new sessions get 421 4.3.2 while the ports stay open, idle
 *   sessions get it at once, a transaction in flight finishes (its 250 included) before its
 *   session is told; HERALD_SHUTDOWN_TIMEOUT bounds the wait.
 * - PROXY protocol (HERALD_SMTP_PROXY_PROTOCOL=on): connections from HERALD_PROXY_TRUSTED must
 *   start with a v1 or v2 header, and its client address is the session's address for every
 *   check, the Received header and the logs; other peers cannot send one.
 *
 * Ports: `start()` binds the configured ports (0 disables a listener) on `smtpBind` or all
 * addresses; `start({ ephemeral: true })` binds port 0 for each enabled listener and returns
 * the ports the system picked (tests).
 */
export {
  createSmtpListeners,
  type SmtpListeners,
  type SmtpListenersOptions,
  type ListeningSocket,
  type CredentialLookup,
  type ListenerCredential,
  type InboundRecipients,
  type SmtpObserver,
} from './smtp-listeners.js';
export { parseProxyHeader, type ProxyHeader } from './proxy-protocol.js';
