/**
 * A real, tiny authoritative DNS server for tests, on loopback (UDP, and TCP on the same port).
 * Point Herald at it with HERALD_DNS_SERVERS=127.0.0.1:PORT (or NodeDnsResolver({ servers })).
 *
 *   const dns = await startDnsServer();
 *   dns.setZone({
 *     'example.test': { MX: [{ preference: 10, exchange: 'mx1.example.test' }] },
 *     'mx1.example.test': { A: ['127.0.0.2'] },
 *     'nomail.test': { MX: [{ preference: 0, exchange: '.' }] },   // RFC 7505 null MX
 *     'broken.test': 'SERVFAIL',
 *   });
 *
 * Answers: a name in the zone → its records of the asked type (none → NOERROR, empty: ENODATA in
 * node:dns); a name set to 'SERVFAIL' → SERVFAIL for every type; a name absent → NXDOMAIN
 * (ENOTFOUND). Names are matched case-insensitively, without the trailing dot.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';

export interface ZoneRecords {
  A?: string[];
  AAAA?: string[];
  MX?: { preference: number; exchange: string }[];
  /** Each entry is one TXT record (its strings). */
  TXT?: (string | string[])[];
  /** An alias; answered for CNAME questions (the resolver follows it itself). */
  CNAME?: string;
}

export type Zone = Record<string, ZoneRecords | 'SERVFAIL'>;

export interface DnsServer {
  port: number;
  address: string;
  /** "address:port", ready for HERALD_DNS_SERVERS / NodeDnsResolver({ servers: [...] }). */
  server: string;
  /** Replaces the whole zone. */
  setZone(zone: Zone): void;
  /** Adds or replaces one name. */
  setName(name: string, records: ZoneRecords | 'SERVFAIL'): void;
  /** Queries answered so far ("name TYPE"), for assertions. */
  queries: string[];
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export async function startDnsServer(options: { host?: string; port?: number } = {}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  let zone = new Map<string, ZoneRecords | 'SERVFAIL'>();
  const queries: string[] = [];
  const key = (name: string) => name.toLowerCase().replace(/\.$/, '');

  const answer = (query: Buffer): Buffer | null => {
    let packet: dnsPacket.Packet;
    try {
      packet = dnsPacket.decode(query);
    } catch {
      return null;
    }
    const question = packet.questions?.[0];
    if (!question) return null;
    queries.push(`${key(question.name)} ${question.type}`);
    const entry = zone.get(key(question.name));
    let rcode: number = RCODE.NOERROR;
    const answers: dnsPacket.Answer[] = [];
    if (entry === undefined) rcode = RCODE.NXDOMAIN;
    else if (entry === 'SERVFAIL') rcode = RCODE.SERVFAIL;
    else {
      const base = { name: question.name, ttl: 60, class: 'IN' as const };
      if (question.type === 'A') for (const a of entry.A ?? []) answers.push({ ...base, type: 'A', data: a });
      if (question.type === 'AAAA') for (const a of entry.AAAA ?? []) answers.push({ ...base, type: 'AAAA', data: a });
      if (question.type === 'MX') {
        // RFC 7505: the null MX has the root as exchange; dns-packet writes '' as the root label.
        for (const mx of entry.MX ?? []) answers.push({ ...base, type: 'MX', data: { preference: mx.preference, exchange: mx.exchange === '.' ? '' : mx.exchange } });
      }
      if (question.type === 'TXT') for (const t of entry.TXT ?? []) answers.push({ ...base, type: 'TXT', data: t });
      if (question.type === 'CNAME' && entry.CNAME) answers.push({ ...base, type: 'CNAME', data: entry.CNAME });
    }
    return dnsPacket.encode({
      type: 'response',
      id: packet.id,
      // AA + RD + RA, and the response code in the low bits.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [question],
      answers,
    });
  };

  const udp: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    const reply = answer(msg);
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(options.port ?? 0, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;

  // TCP on the same port (RFC 1035 §4.2.2: two-byte length prefix), used after truncation.
  const sockets = new Set<Socket>();
  const tcp: Server | null = await new Promise<Server | null>((resolve) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const len = buffered.readUInt16BE(0);
          const reply = answer(buffered.subarray(2, 2 + len));
          buffered = buffered.subarray(2 + len);
          if (reply) {
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([prefix, reply]));
          }
        }
      });
    });
    server.once('error', () => resolve(null)); // port taken for TCP: UDP alone will do
    server.listen(port, host, () => resolve(server));
  });

  return {
    port,
    address: host,
    server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    setZone(next) {
      zone = new Map(Object.entries(next).map(([name, records]) => [key(name), records]));
    },
    setName(name, records) {
      zone.set(key(name), records);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : Promise.resolve(),
      ]);
    },
  };
}
