import net from 'node:net';

/**
 * A raw SMTP client for tests that need to send exactly some bytes (a PROXY header, half a DATA):
 * it writes what it is told and reads whole replies (the last line of a multi-line reply);
 * `reply()` resolves null once the server has closed the connection.
 */
export async function rawSmtp(port: number, first?: Buffer | string, host = '127.0.0.1') {
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  if (first !== undefined) socket.write(first);
  let buffer = '';
  const replies: (string | null)[] = [];
  const waiting: ((reply: string | null) => void)[] = [];
  const push = (reply: string | null) => (waiting.length ? waiting.shift()!(reply) : replies.push(reply));
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    let i;
    while ((i = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (line[3] !== '-') push(line);
    }
  });
  socket.on('close', () => push(null));
  socket.on('error', () => {});
  const reply = () => (replies.length ? Promise.resolve(replies.shift()!) : new Promise<string | null>((resolve) => waiting.push(resolve)));
  return {
    reply,
    write: (text: Buffer | string) => socket.write(text),
    async send(command: string) {
      socket.write(`${command}\r\n`);
      return reply();
    },
    end: () => socket.destroy(),
  };
}
