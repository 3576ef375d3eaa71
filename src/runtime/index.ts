/**
 * runtime — process-level services the composition root hands to rooms: the JSON logger, the
 * TLS material (configured files, or a self-signed certificate generated once into the data
 * directory), the Prometheus metrics registry (`HeraldMetrics`, fed through plain callbacks
 * the composition root hands the rooms), and the steps of a graceful stop, each given a time
 * limit (`runStopSteps`). Rooms never import this; the composition roots (main.ts,
 * delivery-thread.ts) and the CLI do.
 */
export { createLogger, flushLogs } from './logger.js';
export { loadTlsMaterial, type TlsMaterial } from './tls.js';
export { VERSION } from './version.js';
export { HeraldMetrics, type HeraldMetricsOptions, type QueueGaugeSource, type WebhookCursors } from './metrics.js';
export { runStopSteps, type StopStep } from './stop-steps.js';
