import { connect, createServer, type Server, type Socket } from 'node:net';
import { LbError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { accessRecord, takeBytesRead, takeBytesWritten } from '../src/internal/server/access-log.js';

const facts = { method: 'GET', path: '/a', status: 200, backend: '127.0.0.1:9', attempts: 1, elapsedMs: 12.3456 };

describe('accessRecord', () => {
  it('holds one request’s fields, the duration rounded to a tenth of a millisecond', () => {
    expect(accessRecord(facts, 80, 120, undefined)).toEqual({
      method: 'GET',
      path: '/a',
      status: 200,
      backend: '127.0.0.1:9',
      attempts: 1,
      durationMs: 12.3,
      bytesIn: 80,
      bytesOut: 120,
    });
  });

  it('adds the code of the error that ended the request, and only then', () => {
    const record = accessRecord({ ...facts, status: 502 }, 1, 2, new LbError('LB_ERR_CONNECT_FAILED', 'x'));
    expect(record.error).toBe('LB_ERR_CONNECT_FAILED');
    expect('error' in accessRecord(facts, 1, 2, undefined)).toBe(false);
  });

  it('marks a request whose retry the retry budget refused, and only such a request', () => {
    const refused = accessRecord(
      { ...facts, status: 502, retryRefused: true },
      1,
      2,
      new LbError('LB_ERR_CONNECT_FAILED', 'x'),
    );
    expect(refused).toMatchObject({ retryRefused: true, error: 'LB_ERR_CONNECT_FAILED', attempts: 1 });
    expect('retryRefused' in accessRecord({ ...facts, retryRefused: false }, 1, 2, undefined)).toBe(false);
  });
});

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

describe('per-request byte counts on a keep-alive connection', () => {
  it('count what each request moved since the previous one on the same socket', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer(resolve);
      servers.push(server);
      server.listen(0, '127.0.0.1');
    });
    const server = servers[0] as Server;
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    sockets.push(client);
    const socket = await accepted;
    sockets.push(socket);
    const read = async (n: number) => {
      let got = 0;
      await new Promise<void>((resolve) => {
        const onData = (c: Buffer) => {
          got += c.length;
          if (got >= n) {
            socket.off('data', onData);
            resolve();
          }
        };
        socket.on('data', onData);
      });
    };

    client.write('x'.repeat(100));
    await read(100);
    socket.write('y'.repeat(30));
    expect(takeBytesRead(socket)).toBe(100);
    expect(takeBytesWritten(socket)).toBe(30);

    client.write('x'.repeat(7));
    await read(7);
    socket.write('y'.repeat(5));
    expect(takeBytesRead(socket)).toBe(7);
    expect(takeBytesWritten(socket)).toBe(5);
    expect(takeBytesRead(socket)).toBe(0);
    expect(takeBytesWritten(socket)).toBe(0);
  });
});
