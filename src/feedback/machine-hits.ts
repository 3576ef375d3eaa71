import { networkContains, parseNetwork } from '../core/index.js';

/**
 * Which open and click hits were probably not a person: the one rule table. A machine hit is
 * flagged in its event (`machine: true` and the rule's reason), never dropped — statistics count
 * human and machine hits apart, and a receiver may judge differently.
 *
 * | reason | applies to | why |
 * | --- | --- | --- |
 * | `head-request` | opens, clicks | link checkers ask for the headers only; browsers and mail clients send GET |
 * | `apple-privacy-proxy` | opens | Apple Mail Privacy Protection loads every image when the mail arrives, through Apple's proxies (17.0.0.0/8), with the bare user agent `Mozilla/5.0` |
 * | `no-user-agent` | opens, clicks | every browser and mail client names itself; scripts often do not |
 * | `scanner-user-agent` | opens, clicks | security gateways, link previewers and HTTP libraries that name themselves (see SCANNER_AGENT) |
 * | `soon-after-delivery` | opens, clicks | a hit within SOON_AFTER_DELIVERY_MS of the delivery is a gateway scanning the message as it arrives, not a reader |
 */

export interface TrackingHitFacts {
  kind: 'open' | 'click';
  /** The HTTP method (GET, HEAD). */
  method: string;
  ip: string;
  /** The User-Agent header ('' when absent). */
  userAgent: string;
  at: Date;
  /** When the message reached the recipient's server (when known). */
  deliveredAt?: Date;
}

export interface MachineVerdict {
  machine: boolean;
  machineReason?: string;
}

/** "A few seconds": gateways scan as the message arrives; no reader opens mail that fast. */
export const SOON_AFTER_DELIVERY_MS = 10_000;

const APPLE_PROXIES = parseNetwork('17.0.0.0/8');

// Names that security gateways, link previewers and HTTP libraries put in their user agents.
// Not Gmail's or Yahoo's image proxies (GoogleImageProxy, YahooMailProxy): they fetch when a
// person opens the message.
export const SCANNER_AGENT =
  /bot\b|crawler|spider|scanner|preview|headless|phantomjs|python-requests|python-urllib|aiohttp|go-http-client|^curl\/|^wget\/|^java\/|okhttp|libwww-perl|barracuda|mimecast|proofpoint|messagelabs|symantec|trend ?micro|fortinet|fortiguard|forcepoint|sophos|zscaler|ironport|cisco|safelinks|urldefense/i;

interface MachineRule {
  reason: string;
  kinds: readonly TrackingHitFacts['kind'][];
  test(hit: TrackingHitFacts): boolean;
}

/** The rules in the order they are tried; the first that matches names the reason. */
export const MACHINE_RULES: readonly MachineRule[] = [
  { reason: 'head-request', kinds: ['open', 'click'], test: (h) => h.method.toUpperCase() === 'HEAD' },
  { reason: 'apple-privacy-proxy', kinds: ['open'], test: (h) => h.userAgent.trim() === 'Mozilla/5.0' || networkContains(APPLE_PROXIES, h.ip) },
  { reason: 'no-user-agent', kinds: ['open', 'click'], test: (h) => h.userAgent.trim() === '' },
  { reason: 'scanner-user-agent', kinds: ['open', 'click'], test: (h) => SCANNER_AGENT.test(h.userAgent) },
  {
    reason: 'soon-after-delivery',
    kinds: ['open', 'click'],
    test: (h) => h.deliveredAt !== undefined && h.at.getTime() - h.deliveredAt.getTime() < SOON_AFTER_DELIVERY_MS && h.at.getTime() >= h.deliveredAt.getTime() - 1000,
  },
];

/** The verdict on one hit. `deliveredAt` is only needed by the last rule: look it up only when the others found nothing. */
export function judgeHit(hit: TrackingHitFacts): MachineVerdict {
  const rule = MACHINE_RULES.find((r) => r.kinds.includes(hit.kind) && r.test(hit));
  return rule ? { machine: true, machineReason: rule.reason } : { machine: false };
}
