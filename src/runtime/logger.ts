import { pino } from 'pino';
import type { HeraldConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';

/** JSON lines on stdout (or the given stream); one child logger per room is made by main.ts. */
export function createLogger(config: Pick<HeraldConfig, 'logLevel'>, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level: config.logLevel, base: { service: 'herald' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ fd: 1, sync: false }),
  ) as unknown as Logger;
}
