import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResponseOwner } from '../src/internal/server/response-writer.js';
import { TurnWriter } from '../src/internal/server/turn-writer.js';

/** A ResponseOwner that records what the writer reported. */
class RecordingOwner implements ResponseOwner {
  finished = false;
  ended = 0;
  resumed = 0;
  closed = 0;
  /** Runs on every resumeUpstream, as undici's resume would. */
  onResume: (() => void) | undefined;
  responseEnded(): void {
    this.ended++;
    this.finished = true;
  }
  resumeUpstream(): void {
    this.resumed++;
    this.onResume?.();
  }
  downstreamClosed(): void {
    this.closed++;
  }
}

/** Counts the real socket's `_write` (one buffer) and `_writev` (several) calls, i.e. its write syscalls. */
function countWrites(socket: Socket): { write: number; writev: number } {
  const counts = { write: 0, writev: 0 };
  const s = socket as Socket & {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const write = s._write;
  const writev = s._writev;
  s._write = function (this: Socket, ...args: unknown[]) {
    counts.write++;
    return write.apply(this, args);
  };
  s._writev = function (this: Socket, ...args: unknown[]) {
    counts.writev++;
    return writev.apply(this, args);
  };
  return counts;
}

type Handler = (writer: TurnWriter, owner: RecordingOwner, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * A real server whose handler writes through a TurnWriter; resolves with the client's view and
 * the server's write counts once the response ended.
 */
async function exchange(handler: Handler, closing = false) {
  let counts = { write: 0, writev: 0 };
  const owner = new RecordingOwner();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    counts = countWrites(req.socket);
    handler(new TurnWriter(res, req.socket, owner, { closing }), owner, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const response = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
    (resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      }).on('error', reject);
    },
  );
  return { ...response, counts, owner };
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('TurnWriter', () => {
  it('sends a small response completed within one turn as one write (head and body together)', async () => {
    const body = bytes(3000, 7);
    const r = await exchange((writer) => {
      writer.head(200, ['content-length', String(body.length), 'x-test', 'one']);
      writer.chunk(body.subarray(0, 1000));
      writer.chunk(body.subarray(1000));
      writer.end();
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-test']).toBe('one');
    expect(r.body.equals(body)).toBe(true);
    expect(r.counts).toEqual({ write: 1, writev: 0 });
    expect(r.owner.ended).toBe(1);
  });

  it('reports the end only at the end of the turn in which the body completed', async () => {
    let endedInTurn = -1;
    const r = await exchange((writer, owner) => {
      writer.head(200, ['content-length', '2']);
      writer.chunk(Buffer.from('ok'));
      writer.end();
      endedInTurn = owner.ended;
    });
    expect(endedInTurn).toBe(0);
    expect(r.owner.ended).toBe(1);
    expect(r.body.toString()).toBe('ok');
  });

  it('streams a body past the hold limit intact, corked for the rest of the turn', async () => {
    const body = bytes(40_000, 3);
    const r = await exchange((writer) => {
      writer.head(200, ['content-length', String(body.length)]);
      for (let at = 0; at < body.length; at += 5000) writer.chunk(body.subarray(at, at + 5000));
      writer.end();
    });
    expect(r.body.equals(body)).toBe(true);
    expect(r.owner.ended).toBe(1);
    // Corked for the turn: the head and eight chunks leave together, not as nine writes.
    expect(r.counts.write + r.counts.writev).toBeLessThanOrEqual(2);
  });

  it('streams a body whose chunks arrive over several turns, ending when the last one did', async () => {
    const parts = [bytes(100, 1), bytes(9000, 2), bytes(50, 3)];
    const r = await exchange((writer) => {
      writer.head(200, ['transfer-encoding', 'chunked']);
      writer.chunk(parts[0] as Buffer);
      setTimeout(() => {
        writer.chunk(parts[1] as Buffer);
        setTimeout(() => {
          writer.chunk(parts[2] as Buffer);
          writer.end();
        }, 5);
      }, 5);
    });
    expect(r.body.equals(Buffer.concat(parts))).toBe(true);
    expect(r.owner.ended).toBe(1);
  });

  it('says when to pause and asks the owner to resume once the downstream drained', async () => {
    const big = bytes(4 << 20, 9);
    let accepted: boolean | undefined;
    const r = await exchange((writer, owner) => {
      writer.head(200, ['content-length', String(big.length + 1)]);
      accepted = writer.chunk(big);
      // The upstream stays paused until the writer reports the drain; only then does the rest come.
      owner.onResume = () => {
        owner.onResume = undefined;
        writer.chunk(Buffer.from('!'));
        writer.end();
      };
    });
    expect(accepted).toBe(false);
    expect(r.body.equals(Buffer.concat([big, Buffer.from('!')]))).toBe(true);
    expect(r.owner.resumed).toBe(1);
    expect(r.owner.ended).toBe(1);
  });

  it('asks the client to close the connection while the server is closing', async () => {
    const r = await exchange((writer) => {
      writer.head(204, []);
      writer.end();
    }, true);
    expect(r.status).toBe(204);
    expect(r.headers.connection).toBe('close');
  });

  it('throws on a header Node refuses, before anything is written', async () => {
    let thrown: unknown;
    const r = await exchange((writer, owner, res) => {
      try {
        writer.head(200, ['x-bad', 'a\nb']);
      } catch (err) {
        thrown = err;
      }
      res.writeHead(502, { 'content-length': '0' });
      res.end();
      owner.finished = true;
    });
    expect((thrown as { code?: string }).code).toBe('ERR_INVALID_CHAR');
    expect(r.status).toBe(502);
  });

  it('tells the owner when the response closes (after its end here; before it, a client abort)', async () => {
    const r = await exchange((writer) => {
      writer.head(200, ['content-length', '1']);
      writer.chunk(Buffer.from('x'));
      writer.end();
    });
    // The client has read the response and closed (agent: false); the server sees the close soon after.
    for (let i = 0; i < 100 && r.owner.closed === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.owner.closed).toBe(1);
  });
});
