/**
 * notify — turns committed events into the outside world's notifications. For now: the
 * in-process event bus that the live view, tests and (later) webhooks subscribe to.
 *
 * Invariants: only events that are already durable (published from the store's onCommit) go
 * through the bus; a slow or failing subscriber never affects the store or another subscriber.
 */
export { EventBus, type EventListener } from './event-bus.js';
