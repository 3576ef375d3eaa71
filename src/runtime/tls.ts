import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import type { HeraldConfig } from '../config/index.js';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** 'configured' (HERALD_TLS_CERT/KEY) or 'self-signed' (generated into the data directory). */
  origin: 'configured' | 'self-signed';
  /** Where the certificate file lives, for the start-up banner. */
  certPath: string;
  subject: string;
  validTo: string;
}

/**
 * Loads the configured certificate, or generates a self-signed one on first start so STARTTLS
 * and port 465 work out of the box. The generated pair is reused on later starts (clients that
 * pinned it keep working) and regenerated if its hostname no longer matches.
 */
export async function loadTlsMaterial(config: Pick<HeraldConfig, 'tlsCert' | 'tlsKey' | 'dataDir' | 'hostname'>): Promise<TlsMaterial> {
  if (config.tlsCert && config.tlsKey) {
    const cert = readPem(config.tlsCert, 'HERALD_TLS_CERT');
    const key = readPem(config.tlsKey, 'HERALD_TLS_KEY');
    return describe(key, cert, 'configured', config.tlsCert);
  }
  const dir = join(config.dataDir, 'tls');
  const certPath = join(dir, 'self-signed.crt');
  const keyPath = join(dir, 'self-signed.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath);
    if (new X509Certificate(cert).checkHost(config.hostname)) return describe(readFileSync(keyPath), cert, 'self-signed', certPath);
  }
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + 825 * 86_400_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: config.hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: config.hostname }] }],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert);
  return describe(Buffer.from(pems.private), Buffer.from(pems.cert), 'self-signed', certPath);
}

function readPem(path: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${name}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function describe(key: Buffer, cert: Buffer, origin: TlsMaterial['origin'], certPath: string): TlsMaterial {
  const x509 = new X509Certificate(cert);
  return { key, cert, origin, certPath, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
}
