import type { RequestInfo } from '@switchyard/core';
import type { Session } from '@switchyard/proxy';
import { describe, expect, it } from 'vitest';
import { peer, peersApp, send } from './helpers/server-client.js';
import { serverFixtures } from './helpers/server-fixtures.js';

const { upstream, proxy } = serverFixtures(1000);

describe('the Session apps receive', () => {
  it('is the request’s data, the same object in every phase, with none of the forwarding machinery', async () => {
    const u = await upstream();
    const seen: Session[] = [];
    const app = peersApp([peer(u.id)], {
      requestFilter: (session) => {
        seen.push(session);
        return false;
      },
      upstreamRequestFilter: (session) => {
        seen.push(session);
      },
      responseFilter: (session) => {
        seen.push(session);
      },
      logging: (session) => {
        seen.push(session);
      },
    });
    const { port } = await proxy(app, { accessLog: false });
    const reply = await send(port, '/p/q?token=secret', { headers: { 'x-k': 'v' } });
    expect(reply.status).toBe(200);
    expect(seen).toHaveLength(4);
    const session = seen[0] as Session;
    for (const s of seen) expect(s).toBe(session);
    expect(session).toMatchObject({ method: 'GET', uri: '/p/q?token=secret', path: '/p/q', clientIp: '127.0.0.1' });
    expect(session.headers['x-k']).toBe('v');
    // Not the undici dispatch handler, not the response writer.
    for (const name of ['onConnect', 'onHeaders', 'onData', 'onComplete', 'onError', 'endTurn', 'start']) {
      expect(name in session, name).toBe(false);
    }
  });

  it('gives selectors the request in core’s shape', async () => {
    const u = await upstream();
    let info: RequestInfo | undefined;
    const app = peersApp([peer(u.id)], {
      requestFilter: (session) => {
        info = session.requestInfo;
        return false;
      },
    });
    const { port } = await proxy(app, { accessLog: false });
    await send(port, '/r?x=1', { method: 'DELETE', headers: { 'x-h': '1' } });
    expect(info).toBeDefined();
    const { method, path, headers, clientIp } = info as RequestInfo;
    expect({ method, path, clientIp }).toEqual({ method: 'DELETE', path: '/r', clientIp: '127.0.0.1' });
    expect(headers['x-h']).toBe('1');
  });
});
