/**
 * The delivery thread: the second composition root, wired by main.ts. The scheduler, router and
 * SMTP client run here, on their own core, with their own client of the queue store; the main
 * thread keeps the SMTP and HTTP listeners. Delivery work (claims, connections, DSNs, logging
 * attempts) then never queues behind a client's next command, which is Postfix's split between
 * smtpd and qmgr/smtp, in threads instead of processes.
 */
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

/**
 * Starts delivery on its own thread; resolves once its scheduler runs. If the thread dies, its
 * leases go back to the queue (it was the only deliverer) and a new thread takes over.
 */
export async function startDeliveryThread(store: ThreadedQueueStore, config: HeraldConfig, logger: Logger, returnPathSecret: Buffer): Promise<DeliveryThread> {
  let current = await spawnDeliveryThread(store, config, returnPathSecret);
  let stopping: Promise<void> | null = null;
  const watch = (thread: SpawnedThread) => {
    void thread.died.then(async (reason) => {
      if (stopping) return;
      logger.error({ reason }, 'the delivery thread died; returning its work to the queue and starting a new one');
      await store.reapExpiredLeases(new Date(), { all: true }).catch(() => 0);
      // A thread that dies at once would otherwise be restarted in a tight loop.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (stopping) return;
      current = await spawnDeliveryThread(store, config, returnPathSecret);
      watch(current);
    });
  };
  watch(current);
  return {
    stop() {
      stopping ??= current.stop();
      return stopping;
    },
  };
}

interface SpawnedThread extends DeliveryThread {
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
  const died = new Promise<string>((resolve) => {
    worker.once('error', (err) => resolve(err.message));
    worker.once('exit', (code) => resolve(`exit code ${code}`));
  });
  return {
    died: died.then((reason) => (stopping ? new Promise<string>(() => {}) : reason)),
    stop() {
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
