import { isIP } from 'node:net';

/** An IPv4 or IPv6 network, parsed once and matched many times. */
export interface Network {
  text: string;
  version: 4 | 6;
  bits: bigint;
  prefix: number;
}

function ipToBigInt(ip: string): { version: 4 | 6; value: bigint } | null {
  const v = isIP(ip);
  if (v === 4) {
    const value = ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { version: 4, value };
  }
  if (v === 6) {
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) is matched as the IPv4 address it carries.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return ipToBigInt(mapped[1]);
    let [head, tail] = ip.split('::') as [string, string | undefined];
    const headParts = head ? head.split(':') : [];
    let tailParts = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const last = tailParts.length ? tailParts[tailParts.length - 1] : headParts[headParts.length - 1];
    const expandV4 = (parts: string[]) => {
      const l = parts[parts.length - 1];
      if (l && l.includes('.')) {
        const n = ipToBigInt(l)!.value;
        parts.splice(parts.length - 1, 1, ((n >> 16n) & 0xffffn).toString(16), (n & 0xffffn).toString(16));
      }
    };
    if (last && last.includes('.')) {
      if (tailParts.length) expandV4(tailParts);
      else expandV4(headParts);
    }
    const fill = tail === undefined ? [] : new Array(8 - headParts.length - tailParts.length).fill('0');
    const groups = [...headParts, ...fill, ...tailParts];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
    return { version: 6, value };
  }
  return null;
}

/** Parses "10.0.0.0/8", "::1/128" or a bare address (a host network). Throws on bad input. */
export function parseNetwork(text: string): Network {
  const [addr, prefixText] = text.trim().split('/');
  const ip = ipToBigInt(addr);
  if (!ip) throw new Error(`not an IP network: "${text}" (use e.g. 127.0.0.0/8 or ::1/128)`);
  const max = ip.version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`bad prefix length in "${text}"`);
  const shift = BigInt(max - prefix);
  return { text: text.trim(), version: ip.version, bits: (ip.value >> shift) << shift, prefix };
}

export function networkContains(net: Network, ip: string): boolean {
  const parsed = ipToBigInt(ip);
  if (!parsed || parsed.version !== net.version) return false;
  const shift = BigInt((net.version === 4 ? 32 : 128) - net.prefix);
  return (parsed.value >> shift) << shift === net.bits;
}

export function anyNetworkContains(nets: readonly Network[], ip: string): boolean {
  return nets.some((n) => networkContains(n, ip));
}
