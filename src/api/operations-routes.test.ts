import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startApiEdge } from '../../test/support/api-edge.js';

test('a request its client hung up on does not hold up the drain', async (t) => {
  // A send that is still waiting (for its commit, say) when the client hangs up, as a load
  // generator does when its time is up.
  let waiting!: () => void;
  const reached = new Promise<void>((resolve) => (waiting = resolve));
  const { server, accounts } = await startApiEdge(t, () => ({
    accept: {
      accept: () => {
        waiting();
        return new Promise(() => {});
      },
    },
  }));
  const key = (await accounts.createApiKey({ name: 'send', scope: 'send' })).key;
  const { port } = await server.start(0, '127.0.0.1');
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const body = JSON.stringify({ from: 'a@example.com', to: 'b@example.net', subject: 'x', text: 'x' });
  socket.write(`POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  await reached;
  socket.destroy();
  await once(socket, 'close');
  // Resolves once nothing is in flight; with the cut-off request still counted it would never resolve.
  await server.drain();
  const refused = await server.app.inject({ method: 'GET', url: '/api/v1/account' });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.json().error.code, 'shutting_down');
});
