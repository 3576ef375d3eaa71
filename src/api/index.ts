/**
 * api — the HTTP edge. For now the listener itself and /healthz; the sending and management API
 * and the dashboard are added here as clients of the same rooms' index.ts contracts.
 */
export { createHttpServer, type HttpServer } from './http-server.js';
