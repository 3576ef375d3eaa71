/**
 * The PROXY protocol header a TCP load balancer (HAProxy `send-proxy` / `send-proxy-v2`, AWS
 * NLB, ...) writes before the client's first byte, so the server behind it learns the real
 * client address. Both versions of the spec (haproxy.org/download/2.9/doc/proxy-protocol.txt):
 * v1 is one text line, v2 a binary block. smtp-server reads v1 only, so Herald reads both here.
 */
import { isIP } from 'node:net';

/** v2 starts with these 12 bytes (§2.2), which no v1 line or SMTP client can begin with. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** §2.1: a v1 line is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
const V1_PREFIX = Buffer.from('PROXY ');

export type ProxyHeader =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string }
  /**
   * `length`: the header's bytes, to drop before the SMTP session. `source` is null for a header
   * that carries no client (v1 UNKNOWN, v2 LOCAL — the balancer's own health check): the
   * connection is then taken as coming from the balancer itself.
   */
  | { status: 'done'; length: number; source: { address: string; port: number } | null };

/** Reads a header from the start of `data`; 'incomplete' means: wait for more bytes. */
export function parseProxyHeader(data: Buffer): ProxyHeader {
  if (data.length === 0) return { status: 'incomplete' };
  if (data[0] === V2_SIGNATURE[0]) return parseV2(data);
  return parseV1(data);
}

function parseV1(data: Buffer): ProxyHeader {
  const prefix = Math.min(data.length, V1_PREFIX.length);
  if (!data.subarray(0, prefix).equals(V1_PREFIX.subarray(0, prefix))) return { status: 'invalid', reason: 'not a PROXY protocol header' };
  const end = data.indexOf('\r\n');
  if (end < 0) return data.length >= V1_MAX ? { status: 'invalid', reason: 'PROXY v1 line too long' } : { status: 'incomplete' };
  if (end + 2 > V1_MAX) return { status: 'invalid', reason: 'PROXY v1 line too long' };
  const parts = data.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { status: 'done', length, source: null };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { status: 'invalid', reason: 'malformed PROXY v1 line' };
  const [, family, source, , sourcePort] = parts;
  if (isIP(source) !== (family === 'TCP4' ? 4 : 6)) return { status: 'invalid', reason: 'PROXY v1 source is not an address of its family' };
  const port = Number(sourcePort);
  if (!/^\d{1,5}$/.test(sourcePort) || port > 65535) return { status: 'invalid', reason: 'PROXY v1 source port is not a port' };
  return { status: 'done', length, source: { address: source, port } };
}

function parseV2(data: Buffer): ProxyHeader {
  const prefix = Math.min(data.length, V2_SIGNATURE.length);
  if (!data.subarray(0, prefix).equals(V2_SIGNATURE.subarray(0, prefix))) return { status: 'invalid', reason: 'not a PROXY protocol header' };
  if (data.length < 16) return { status: 'incomplete' };
  const versionCommand = data[12];
  if (versionCommand >> 4 !== 2) return { status: 'invalid', reason: 'unsupported PROXY protocol version' };
  const command = versionCommand & 0x0f;
  if (command > 1) return { status: 'invalid', reason: 'unknown PROXY v2 command' };
  const family = data[13];
  const bodyLength = data.readUInt16BE(14);
  const length = 16 + bodyLength;
  if (data.length < length) return { status: 'incomplete' };
  // LOCAL: the balancer speaking for itself (§2.2); addresses, if any, are to be ignored.
  if (command === 0) return { status: 'done', length, source: null };
  const body = data.subarray(16, length);
  if (family === 0x11) {
    // TCP over IPv4: source, destination (4 bytes each), source port, destination port.
    if (body.length < 12) return { status: 'invalid', reason: 'PROXY v2 address block too short' };
    return { status: 'done', length, source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) } };
  }
  if (family === 0x21) {
    if (body.length < 36) return { status: 'invalid', reason: 'PROXY v2 address block too short' };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { status: 'done', length, source: { address: compressIpv6(groups), port: body.readUInt16BE(32) } };
  }
  // UNSPEC, UDP or UNIX sockets: nothing a mail client can be; treat it like LOCAL.
  return { status: 'done', length, source: null };
}

/** RFC 5952 text form: the longest run of two or more zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  const text = `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
  // IPv4-mapped (::ffff:a.b.c.d) reads as the IPv4 address it carries, as sockets report it.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return text;
}
