import type { MailEvent } from '../core/index.js';
import type { DnsContext, DomainChange } from './types.js';

/** The outbox event for a monitor's change: what webhooks and the dashboard hear about it. */
export function verificationChangedEvent(change: DomainChange): MailEvent {
  return {
    type: 'domain.verification_changed',
    messageId: '',
    accountId: change.accountId,
    at: change.checkedAt,
    data: {
      domain: change.domain,
      before: change.before,
      after: change.after,
      changed: change.changed.map((r) => ({ purpose: r.purpose, name: r.name, type: r.type, status: r.status, problem: r.problem, fix: r.fix })),
    },
  };
}

/** What Herald tells domains about itself, from its settings. */
export function dnsContextOf(config: { hostname: string; sendingIps: readonly string[]; publicUrl?: string }): DnsContext {
  return {
    heraldHostname: config.hostname,
    sendingIps: config.sendingIps.length ? [...config.sendingIps] : undefined,
    // Tracking CNAMEs point where recipients' clients reach Herald's HTTP listener.
    trackingHost: config.publicUrl ? new URL(config.publicUrl).hostname : undefined,
  };
}
