/**
 * The delivery thread: the second composition root, wired by main.ts. The scheduler, router and
 * SMTP client run here, on their own core, with their own client of the queue store; the main
 * thread keeps the SMTP and HTTP listeners. Delivery work (claims, connections, DSNs, logging
 * attempts) then never queues behind a client's next command, which is Postfix's split between
 * smtpd and qmgr/smtp, in threads instead of processes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { fromPortableConfig, toPortableConfig, type HeraldConfig, type PortableConfig } from './config/index.js';
import { threadEntry, type Logger } from './core/index.js';
import { createDelivery } from './deliver/index.js';
import { ThreadedQueueStore } from './queue/index.js';
import { createLogger, flushLogs } from './runtime/index.js';

interface DeliveryThreadData {
  role: 'delivery';
  config: PortableConfig;
  storePort: MessagePort;
  returnPathSecret: Buffer;
}

type ToThread = { kind: 'stop' };
type FromThread = { kind: 'ready' } | { kind: 'stopped' } | { kind: 'failed'; message: string };

export interface DeliveryThread {
  stop(): Promise<void>;
}

/** How long to wait before starting a new delivery thread, after each failed start in a row. */
const RESPAWN_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

export interface DeliveryThreadOptions {
  /** Starts one thread (tests give a stand-in). */
  spawn?: (store: ThreadedQueueStore, config: HeraldConfig, returnPathSecret: Buffer) => Promise<SpawnedThread>;
  /** Waits before each new start after a death; the last one repeats. */
  respawnDelaysMs?: readonly number[];
}

/**
 * Starts delivery on its own thread; resolves once its scheduler runs. If the thread dies, its
 * leases go back to the queue (it was the only deliverer) and a new thread takes over. A new
 * thread that fails to start is tried again, less and less often, until one starts: meanwhile
 * mail waits in the queue, and the process keeps accepting it.
 */
export async function startDeliveryThread(
  store: ThreadedQueueStore,
  config: HeraldConfig,
  logger: Logger,
  returnPathSecret: Buffer,
  options: DeliveryThreadOptions = {},
): Promise<DeliveryThread> {
  const spawn = options.spawn ?? spawnDeliveryThread;
  const delays = options.respawnDelaysMs ?? RESPAWN_DELAYS_MS;
  const delayAfter = (failures: number) => delays[Math.min(failures, delays.length - 1)];
  let current = await spawn(store, config, returnPathSecret);
  /** A new thread being started after a death (null when none is). */
  let starting: Promise<SpawnedThread | null> | null = null;
  let stopping: Promise<void> | null = null;
  /** Cuts a wait before a new start short when stop() comes. */
  const halt = new AbortController();
  const respawn = async (): Promise<SpawnedThread | null> => {
    for (let failures = 0; ; failures++) {
      // A thread that dies at once would otherwise be restarted in a tight loop.
      await sleep(delayAfter(failures), undefined, { signal: halt.signal }).catch(() => {});
      if (stopping) return null;
      try {
        return await spawn(store, config, returnPathSecret);
      } catch (err) {
        logger.error({ err, retryInMs: delayAfter(failures + 1) }, 'could not start a new delivery thread; mail waits in the queue until one starts');
      }
    }
  };
  const watch = (thread: SpawnedThread) => {
    void thread.died.then(async (reason) => {
      if (stopping) return;
      logger.error({ reason }, 'the delivery thread died; returning its work to the queue and starting a new one');
      await store.reapExpiredLeases(new Date(), { all: true }).catch(() => 0);
      starting = respawn();
      const next = await starting;
      starting = null;
      // stop() came meanwhile: it stops the new thread itself.
      if (!next || stopping) return;
      current = next;
      logger.info('a new delivery thread took over');
      watch(next);
    });
  };
  watch(current);
  return {
    stop() {
      stopping ??= (async () => {
        halt.abort();
        const next = await starting;
        await Promise.all([current.stop(), next?.stop()]);
      })();
      return stopping;
    },
  };
}

export interface SpawnedThread extends DeliveryThread {
  /** Resolves with the reason when the thread ends without being asked to. */
  died: Promise<string>;
}

async function spawnDeliveryThread(store: ThreadedQueueStore, config: HeraldConfig, returnPathSecret: Buffer): Promise<SpawnedThread> {
  const storePort = store.connectPort();
  const data: DeliveryThreadData = { role: 'delivery', config: toPortableConfig(config), storePort, returnPathSecret };
  const worker = new Worker(threadEntry(import.meta.url, './delivery-thread'), { workerData: data, transferList: [storePort] });
  const next = (kind: FromThread['kind']) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (msg: FromThread) => {
        if (msg.kind === kind) done(resolve);
        else if (msg.kind === 'failed') done(() => reject(new Error(`delivery thread: ${msg.message}`)));
      };
      const onExit = (code: number) => done(() => reject(new Error(`the delivery thread exited (code ${code})`)));
      const done = (settle: () => void) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        settle();
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
    });
  await next('ready');
  let stopping: Promise<void> | null = null;
  let exited = false;
  const died = new Promise<string>((resolve) => {
    worker.once('error', (err) => resolve(err.message));
    worker.once('exit', (code) => {
      exited = true;
      resolve(`exit code ${code}`);
    });
  });
  return {
    died: died.then((reason) => (stopping ? new Promise<string>(() => {}) : reason)),
    stop() {
      // A thread that already died has nothing to stop, and would never say it stopped.
      if (exited) return Promise.resolve();
      stopping ??= (async () => {
        const stopped = next('stopped');
        worker.postMessage({ kind: 'stop' } satisfies ToThread);
        await stopped;
        await worker.terminate();
      })();
      return stopping;
    },
  };
}

const data = workerData as DeliveryThreadData | null;
if (parentPort && data?.role === 'delivery') {
  const port = parentPort;
  const send = (msg: FromThread) => port.postMessage(msg);
  try {
    const config = fromPortableConfig(data.config);
    const logger = createLogger(config).child({ room: 'deliver' });
    const store = await ThreadedQueueStore.attach(data.storePort);
    // Structured clone turns the Buffer into a Uint8Array; view it as a Buffer again.
    const returnPathSecret = Buffer.from(data.returnPathSecret.buffer, data.returnPathSecret.byteOffset, data.returnPathSecret.byteLength);
    const scheduler = createDelivery({ store, config, logger, returnPathSecret });
    await scheduler.start();
    port.on('message', (msg: ToThread) => {
      if (msg.kind !== 'stop') return;
      void scheduler
        .stop()
        .then(() => store.close())
        .then(
          () => {
            // The thread is terminated once it says it stopped: its last log lines go out first.
            flushLogs();
            send({ kind: 'stopped' });
          },
          (err: Error) => send({ kind: 'failed', message: err.message }),
        );
    });
    send({ kind: 'ready' });
  } catch (err) {
    send({ kind: 'failed', message: (err as Error).message });
  }
}
