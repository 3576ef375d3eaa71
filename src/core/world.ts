/** The outside world, injected everywhere it is touched, so tests use real local stand-ins. */

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface MxRecord {
  exchange: string;
  priority: number;
}

/**
 * DNS lookups Herald needs. Failures reject with an Error whose `code` is a node:dns code
 * (ENOTFOUND / ENODATA mean "no such record"; others such as ETIMEOUT / ESERVFAIL are temporary).
 */
export interface Resolver {
  resolveMx(domain: string): Promise<MxRecord[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
  resolveTxt(name: string): Promise<string[][]>;
  resolveCname(name: string): Promise<string[]>;
}

/** The logger shape rooms use (pino-compatible). */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
