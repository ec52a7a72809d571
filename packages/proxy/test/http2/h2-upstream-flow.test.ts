import { waitFor } from '@switchyard/testkit';
import { describe, expect, it } from 'vitest';
import { peersApp, send } from '../helpers/server-client.js';
import { h2c, h2UpstreamFixtures } from './helpers/h2-upstream-fixtures.js';

const { proxy, backend, session } = h2UpstreamFixtures(1000);

describe('keep-alive', () => {
  it('idleTimeout 0 closes the session once its streams are done; a positive one after that idle time', async () => {
    const b = await backend();
    const { port } = await proxy(peersApp([h2c(b.id, { idleTimeout: 0 })]), { accessLog: false });
    for (let i = 0; i < 3; i++) expect((await send(port, '/k')).status).toBe(200);
    expect(b.sessions).toBe(3);

    const c = await backend();
    const { port: idlePort } = await proxy(peersApp([h2c(c.id, { idleTimeout: 200 })]), { accessLog: false });
    expect((await send(idlePort, '/1')).status).toBe(200);
    expect((await send(idlePort, '/2')).status).toBe(200);
    expect(c.sessions).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await send(idlePort, '/3')).status).toBe(200);
    expect(c.sessions).toBe(2);
  });
});

describe('backpressure', () => {
  it('a client that stops reading holds the h2c backend back; all of the body arrives once it reads', async () => {
    const total = 64 * 1024 * 1024;
    const b = await backend();
    let written = 0;
    let finished = false;
    b.onStream = (stream) => {
      stream.respond({ ':status': 200 });
      const chunk = Buffer.alloc(64 * 1024, 1);
      // Bounded: at most total / chunk writes, each waiting for drain when refused.
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!stream.write(chunk)) {
            stream.once('drain', pump);
            return;
          }
        }
        finished = true;
        stream.end();
      };
      pump();
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false });
    const stream = (await session(port)).request({ ':path': '/big' });
    stream.pause();
    await waitFor('the backend to start writing', () => written > 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total / 4);
    let received = 0;
    stream.on('data', (c: Buffer) => {
      received += c.length;
    });
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
    expect(received).toBe(total);
  }, 60_000);

  it('an h2c backend that stops reading holds a large upload back at the client', async () => {
    const total = 64 * 1024 * 1024;
    const b = await backend();
    let release: (() => void) | undefined;
    let received = 0;
    b.onStream = (stream) => {
      stream.pause();
      release = () => {
        stream.on('data', (c: Buffer) => {
          received += c.length;
        });
        stream.on('end', () => {
          stream.respond({ ':status': 200 });
          stream.end('done');
        });
        stream.resume();
      };
    };
    const { port } = await proxy(peersApp([h2c(b.id)]), { h2c: true, accessLog: false });
    const stream = (await session(port)).request({ ':method': 'POST', ':path': '/up' }, { endStream: false });
    stream.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 5);
    let sent = 0;
    // Bounded: at most total / chunk writes, each waiting for drain when refused.
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!stream.write(chunk)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
    await waitFor('the upstream stream', () => release !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(sent).toBeLessThan(total / 4);
    release?.();
    let text = '';
    stream.on('data', (c: Buffer) => {
      text += c.toString();
    });
    await new Promise((resolve) => stream.on('end', resolve));
    expect(text).toBe('done');
    expect(received).toBe(total);
  }, 60_000);
});
