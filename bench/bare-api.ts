// The API benchmark's ceiling: a bare Fastify server with Herald's two sending routes that parse
// the JSON body and answer as Herald does (202 per message, 200 with results per batch) without
// validating, authenticating or storing anything. Run as its own process
// (`node --import tsx bench/bare-api.ts HOST PORT`) so its CPU is not mixed with the load
// generator's, like bench/bare-sink.ts for SMTP.
import Fastify from 'fastify';

interface Message {
  to?: string | string[];
}

const [host = '127.0.0.1', portText = '8080'] = process.argv.slice(2);

// Herald's limits: its default body limit for a message, 50 MiB for a batch.
const app = Fastify({ logger: false, bodyLimit: 36 * 1024 * 1024 });
let next = 0;
// Touches the parsed body (the recipients) so the answer depends on it, as Herald's does.
const result = (m: Message) => ({ id: `bare-${++next}`, status: 'queued', recipients: m.to === undefined ? [] : Array.isArray(m.to) ? m.to : [m.to] });

app.post<{ Body: Message }>('/api/v1/messages', async (req, reply) => reply.code(202).send(result(req.body)));
app.post<{ Body: { messages: Message[] } }>('/api/v1/messages/batch', { bodyLimit: 50 * 1024 * 1024 }, async (req) => {
  const results = req.body.messages.map((m, index) => ({ index, ...result(m) }));
  return { accepted: results.length, rejected: 0, results };
});

// The tracking step's ceiling: the open pixel and the click redirect, recording nothing.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
app.get('/t/o/:token', async (_req, reply) => reply.header('cache-control', 'no-store, private').type('image/gif').send(PIXEL));
app.get('/t/c/:token', async (_req, reply) => reply.header('cache-control', 'no-store, private').redirect('https://shop.example/spring-sale?utm_source=mail', 302));

await app.listen({ host, port: Number(portText) });
console.log(`bare-api listening on ${host}:${portText}`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void app.close().then(() => process.exit(0)));
