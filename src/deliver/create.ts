import type { HeraldConfig } from '../config/index.js';
import type { Clock, Logger, Resolver } from '../core/index.js';
import type { DestinationSlots, QueueStore } from '../queue/index.js';
import type { KeyedRateLimiter } from '../storage/index.js';
import { NodeDnsResolver } from './dns-resolver.js';
import { DeliveryScheduler } from './scheduler.js';
import { SmtpMxTransport } from './smtp-transport.js';

/** Delivery as Herald runs it: the scheduler over the MX transport, DNS from config unless given. */
export function createDelivery(options: {
  store: QueueStore;
  config: HeraldConfig;
  logger: Logger;
  clock?: Clock;
  resolver?: Resolver;
  /** Signs per-recipient return paths (see SmtpMxTransportOptions.returnPathSecret). */
  returnPathSecret?: Buffer;
  /** Connection slots per destination shared by every node of a cluster (absent: this node's own count). */
  slots?: DestinationSlots;
  /** HERALD_DESTINATION_RATE counted in the database the nodes share (absent: in this process). */
  destinationRates?: KeyedRateLimiter;
}): DeliveryScheduler {
  const { store, config, logger, clock } = options;
  const resolver = options.resolver ?? new NodeDnsResolver({ servers: config.dnsServers });
  const transport = new SmtpMxTransport({ config, resolver, logger, returnPathSecret: options.returnPathSecret });
  return new DeliveryScheduler({ store, transport, config, clock, logger, stopGraceMs: config.shutdownTimeout, leaseMs: config.deliveryLease, slots: options.slots, destinationRates: options.destinationRates });
}
