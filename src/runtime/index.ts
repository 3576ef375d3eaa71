/**
 * runtime — process-level services the composition root hands to rooms: the JSON logger and the
 * TLS material (configured files, or a self-signed certificate generated once into the data
 * directory). Rooms never import this; the composition roots (main.ts, delivery-thread.ts) and
 * the CLI do.
 */
export { createLogger } from './logger.js';
export { loadTlsMaterial, type TlsMaterial } from './tls.js';
export { VERSION } from './version.js';
