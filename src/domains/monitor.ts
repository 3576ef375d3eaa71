import { silentLogger, systemClock, type Clock, type Logger, type Resolver } from '../core/index.js';
import type { SqlDomainStore } from './sql-domain-store.js';
import type { DnsContext, DomainChange, DomainView, VerificationOutcome } from './types.js';
import { verifyDomain } from './verify.js';

export interface DomainMonitorOptions {
  resolver: Resolver;
  context: DnsContext;
  clock?: Clock;
  logger?: Logger;
  /** How often a verified domain is checked again; default 6 hours. */
  intervalMs?: number;
  /**
   * How often a domain that is not verified (new, failing or lapsed) is checked; default 15
   * minutes, so a record someone just published is noticed soon.
   */
  unverifiedIntervalMs?: number;
  /** How often the monitor looks for domains due a check; default one minute. 0: never by itself (only `check` and `checkDue` calls). */
  tickMs?: number;
  /** Checks run at the same time, at most; default 4. */
  concurrency?: number;
  /** A domain's status or one of its records changed (→ `domain.verification_changed`). */
  onChange?(change: DomainChange): void;
}

export interface DomainMonitor {
  /** Checks one domain now (a user's "verify" button), records the result and reports a change. null: no such domain. */
  check(accountId: string, name: string): Promise<VerificationOutcome | null>;
  /** Checks every domain whose last check is older than its interval — what each tick does; resolves with how many were checked. */
  checkDue(): Promise<number>;
  stop(): Promise<void>;
}

export const MONITOR_INTERVAL_MS = 6 * 3_600_000;
export const UNVERIFIED_INTERVAL_MS = 15 * 60_000;

/**
 * Re-verifies every domain periodically and reports changes. Due-ness comes from each domain's
 * stored `checkedAt`, so a restart does not check everything again at once, and a check made
 * through `check` counts too. The first tick comes one `tickMs` after start.
 */
export function startDomainMonitor(store: SqlDomainStore, options: DomainMonitorOptions): DomainMonitor {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const intervalMs = options.intervalMs ?? MONITOR_INTERVAL_MS;
  const unverifiedMs = options.unverifiedIntervalMs ?? UNVERIFIED_INTERVAL_MS;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let stopped = false;

  const run = async (domain: Pick<DomainView, 'accountId' | 'name'>): Promise<VerificationOutcome | null> => {
    const current = await store.get(domain.accountId, domain.name);
    if (!current) return null;
    const result = await verifyDomain(current, options.resolver, options.context, clock);
    const outcome = await store.recordVerification(current.accountId, current.name, result);
    if (!outcome) return null;
    if (outcome.activated.length > 0) log.info({ domain: current.name, account: current.accountId, selectors: outcome.activated }, 'rotated DKIM key now active');
    if (outcome.retired.length > 0) log.info({ domain: current.name, account: current.accountId, selectors: outcome.retired }, 'replaced DKIM key retired');
    if (outcome.before !== outcome.after || outcome.changed.length > 0) {
      log.info({ domain: current.name, account: current.accountId, before: outcome.before, after: outcome.after, changed: outcome.changed.map((r) => `${r.purpose} ${r.name} ${r.status}`) }, 'domain verification changed');
      try {
        options.onChange?.({
          accountId: current.accountId,
          domain: current.name,
          before: outcome.before,
          after: outcome.after,
          checkedAt: result.checkedAt,
          records: outcome.domain.verification?.records ?? result.records,
          changed: outcome.changed,
        });
      } catch (err) {
        log.error({ err, domain: current.name }, 'domain change listener failed');
      }
    }
    return outcome;
  };

  const checkDue = (): Promise<number> => {
    running ??= (async () => {
      let checked = 0;
      try {
        const now = clock.now().getTime();
        const due = (await store.checkSchedule()).filter((d) => d.checkedAt === null || now - d.checkedAt.getTime() >= (d.status === 'verified' ? intervalMs : unverifiedMs));
        let next = 0;
        const worker = async () => {
          while (!stopped && next < due.length) {
            const domain = due[next++];
            try {
              await run(domain);
              checked++;
            } catch (err) {
              log.error({ err, domain: domain.name }, 'domain check failed; trying again at the next interval');
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
      } finally {
        running = null;
      }
      return checked;
    })();
    return running;
  };

  const schedule = () => {
    if (stopped || options.tickMs === 0) return;
    // A tick that cannot even read the schedule (the database is away) is logged, not thrown:
    // nothing awaits a timer's promise, and an unhandled rejection would end the process.
    const tick = () => checkDue().catch((err: unknown) => log.error({ err }, 'domain checks could not read which domains are due; trying again at the next tick'));
    timer = setTimeout(() => void tick().finally(schedule), options.tickMs ?? 60_000);
    timer.unref();
  };
  schedule();

  return {
    check: (accountId, name) => run({ accountId, name }),
    checkDue,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
