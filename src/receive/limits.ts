import type { Clock } from '../core/index.js';

/** Concurrent SMTP connections, in all and per client address, shared by every listener. */
export class ConnectionCounter {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerIp: number }) {}

  /**
   * Counts a new connection unless a limit is reached. `exempt` clients (network credentials:
   * the operator's own applications) are not held to the per-address limit.
   */
  tryOpen(ip: string, exempt: boolean): 'ok' | 'total' | 'per-ip' {
    if (this.total >= this.limits.maxConnections) return 'total';
    const current = this.perIp.get(ip) ?? 0;
    if (!exempt && current >= this.limits.maxConnectionsPerIp) return 'per-ip';
    this.total++;
    this.perIp.set(ip, current + 1);
    return 'ok';
  }

  close(ip: string): void {
    this.total--;
    const current = this.perIp.get(ip) ?? 1;
    if (current <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, current - 1);
  }
}

interface FailureRecord {
  count: number;
  windowStart: number;
  lockedUntil: number;
}

const MAX_TRACKED = 100_000;

/**
 * Failed AUTH attempts per client address: `maxFailures` within `lockoutMs` lock the address
 * out for `lockoutMs`. In memory, per process — a restart forgives, which is acceptable for a
 * brake on password guessing.
 */
export class AuthLockout {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockoutMs: number,
    private readonly clock: Clock,
  ) {}

  isLocked(ip: string): boolean {
    const record = this.records.get(ip);
    return record !== undefined && record.lockedUntil > this.clock.now().getTime();
  }

  recordFailure(ip: string): void {
    const now = this.clock.now().getTime();
    let record = this.records.get(ip);
    if (!record || now - record.windowStart >= this.lockoutMs) {
      if (!record && this.records.size >= MAX_TRACKED) this.prune(now);
      record = { count: 0, windowStart: now, lockedUntil: record?.lockedUntil ?? 0 };
      this.records.set(ip, record);
    }
    record.count++;
    if (record.count >= this.maxFailures) {
      record.lockedUntil = now + this.lockoutMs;
      record.count = 0;
      record.windowStart = now;
    }
  }

  recordSuccess(ip: string): void {
    this.records.delete(ip);
  }

  private prune(now: number): void {
    for (const [ip, r] of this.records) {
      if (r.lockedUntil <= now && now - r.windowStart >= this.lockoutMs) this.records.delete(ip);
    }
    // Still full: an address flood. Forget the oldest half rather than grow without bound.
    if (this.records.size >= MAX_TRACKED) {
      let drop = this.records.size / 2;
      for (const ip of this.records.keys()) {
        if (drop-- <= 0) break;
        this.records.delete(ip);
      }
    }
  }
}
