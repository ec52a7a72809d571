import { type ClientReadableStream, type ServiceError, status } from '@grpc/grpc-js';
import type { EchoClient, EchoReply, EchoRequest } from '@switchyard/testkit';
import { waitFor } from '@switchyard/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GrpcFixture, none, startGrpcFixture } from './helpers/grpc-fixture.js';

// @grpc/grpc-js clients through Switchyard (h2c downstream, h2c upstream) to three grpc-js backends.

function unary(client: EchoClient, request: EchoRequest, options = {}): Promise<EchoReply> {
  return new Promise((resolve, reject) =>
    client.unary(request, none(), options, (err, reply) => (err ? reject(err) : resolve(reply as EchoReply))),
  );
}

function clientStream(client: EchoClient, requests: readonly EchoRequest[]): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const call = client.clientStream(none(), {}, (err, reply) => (err ? reject(err) : resolve(reply as EchoReply)));
    for (const r of requests) call.write(r);
    call.end();
  });
}

async function collect(stream: ClientReadableStream<EchoReply>): Promise<EchoReply[]> {
  const out: EchoReply[] = [];
  for await (const m of stream) out.push(m as EchoReply);
  return out;
}

/** Resolves with the error a call ended with (rejects if it succeeded). */
function failure(call: Promise<unknown>): Promise<ServiceError> {
  return call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (err: ServiceError) => err,
  );
}

describe('the four call kinds through Switchyard to three backends', () => {
  let f: GrpcFixture;
  beforeAll(async () => {
    f = await startGrpcFixture();
  });
  afterAll(() => f.close());

  it('unary, server-streaming, client-streaming and bidi calls all work on one channel', async () => {
    const client = f.client();
    expect(await unary(client, { text: 'hello' })).toMatchObject({ text: 'hello', index: 0 });

    const replies = await collect(client.serverStream({ text: 's', count: 50 }, none(), {}));
    expect(replies.map((r) => r.index)).toEqual([...Array(50).keys()]);
    expect(new Set(replies.map((r) => r.backend)).size).toBe(1); // one call, one backend

    const summed = await clientStream(
      client,
      Array.from({ length: 40 }, () => ({ size: 1000, pad: 'x'.repeat(1000) })),
    );
    expect(summed).toMatchObject({ index: 40, size: 40_000 });

    // Bidi: each reply is read before the next message is written, so it proves both directions
    // stream while the call is open (a proxy that waited for the request's end would hang here).
    const bidi = client.bidi(none(), {});
    const echoed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      bidi.on('data', (m: EchoReply) => {
        echoed.push(m.text);
        if (echoed.length < 20) bidi.write({ text: `m${echoed.length}` });
        else bidi.end();
      });
      bidi.on('end', resolve);
      bidi.on('error', reject);
      bidi.write({ text: 'm0' });
    });
    expect(echoed).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));

    const kinds = new Set(f.backends.flatMap((b) => b.calls.map((c) => c.method)));
    expect(kinds).toEqual(new Set(['unary', 'serverStream', 'clientStream', 'bidi']));
  });

  it('spreads one channel’s calls within 10% of even over the three backends (round-robin per stream)', async () => {
    const client = f.client();
    const before = f.backends.map((b) => b.traffic());
    const calls = 300;
    // 30 at a time: concurrent streams on the one HTTP/2 connection the channel holds.
    for (let i = 0; i < calls; i += 30) {
      await Promise.all(Array.from({ length: 30 }, (_, j) => unary(client, { text: `${i + j}` })));
    }
    const counts = f.backends.map((b, i) => b.traffic() - (before[i] as number));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(calls);
    // Smooth round-robin over equal weights gives exactly calls/3 each; 10% is the bound asked for.
    for (const n of counts) expect(Math.abs(n - calls / 3)).toBeLessThanOrEqual(calls / 3 / 10);
  });

  it('forwards the backend’s grpc-status and grpc-message trailers', async () => {
    const err = await failure(unary(f.client(), { fail: status.PERMISSION_DENIED }));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/^failed by request at [abc]$/);
  });

  it('relays backpressure: a server stream to a client that does not read stalls the backend’s writes', async () => {
    const client = f.client();
    const pad = 'p'.repeat(64 * 1024);
    const stream = client.serverStream({ count: 400, pad }, none(), {});
    stream.pause();
    const call = await waitFor(
      'the call to reach a backend',
      () => f.backends.some((b) => b.calls.at(-1)?.method === 'serverStream'),
      10_000,
      10,
    ).then(() =>
      f.backends.flatMap((b) => b.calls).find((c) => c.method === 'serverStream' && !c.finished && !c.cancelled),
    );
    if (call === undefined) throw new Error('no running serverStream call');
    // 400 x 64 KiB = 25 MiB: with the client paused, the proxy's windows fill and the backend is held back.
    await waitFor('the backend to find the stream full', () => call.blocked > 0, 10_000, 20);
    expect(call.finished).toBe(false);
    stream.resume();
    let n = 0;
    for await (const _ of stream) n++;
    expect(n).toBe(400);
    expect(call.finished).toBe(true);
  });
});

describe('deadlines, cancels and failures', () => {
  let f: GrpcFixture;
  afterEach(() => f?.close());

  it('propagates the client deadline as grpc-timeout, and the proxy ends a call that outlives it', async () => {
    f = await startGrpcFixture();
    const client = f.client();
    const sent = Date.now();
    await unary(client, { text: 'd' }, { deadline: sent + 5000 });
    const seen = f.backends.flatMap((b) => b.calls).at(-1);
    // The backend's deadline comes from the forwarded grpc-timeout: within the 5 s, not unbounded.
    expect(seen?.deadline).toBeGreaterThan(sent + 3000);
    expect(seen?.deadline).toBeLessThanOrEqual(sent + 5000 + 50);

    const slow = await failure(unary(client, { delayMs: 5000 }, { deadline: Date.now() + 300 }));
    expect(slow.code).toBe(status.DEADLINE_EXCEEDED);
    const call = f.backends.flatMap((b) => b.calls).find((c) => c.method === 'unary' && !c.finished);
    await waitFor('the backend to see the call cancelled', () => call?.cancelled === true, 5000, 10);
  });

  it('a client cancel resets the upstream stream', async () => {
    f = await startGrpcFixture();
    const stream = f.client().serverStream({ count: 10_000, delayMs: 20 }, none(), {});
    const first = await new Promise<EchoReply>((resolve) => stream.once('data', resolve));
    const backend = f.backends.find((b) => b.name === first.backend);
    const call = backend?.calls.at(-1);
    stream.on('error', () => undefined); // CANCELLED, reported to the caller that cancelled
    stream.cancel();
    await waitFor('the backend to see the cancel', () => call?.cancelled === true, 5000, 10);
    expect(call?.finished).toBe(false);
  });

  it('a backend killed mid-stream ends that call with UNAVAILABLE; new calls go to the others', async () => {
    f = await startGrpcFixture();
    const client = f.client();
    const stream = client.serverStream({ count: 10_000, delayMs: 10 }, none(), {});
    const first = await new Promise<EchoReply>((resolve) => stream.once('data', resolve));
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    const victim = f.backends.find((b) => b.name === first.backend);
    await victim?.stop();
    const err = await ended;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/^switchyard: /);
    // The dead backend refuses connections: each pick of it is retried on the next backend.
    const answers = await Promise.all(Array.from({ length: 12 }, () => unary(client, {})));
    expect(answers.map((a) => a.backend)).not.toContain(first.backend);
    expect(new Set(answers.map((a) => a.backend)).size).toBe(2);
  });

  it('with every backend down, Switchyard answers in gRPC terms: UNAVAILABLE and a message, not an HTML page', async () => {
    f = await startGrpcFixture();
    await Promise.all(f.backends.map((b) => b.stop()));
    const err = await failure(unary(f.client(), {}));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('switchyard: could not connect to an upstream');
    expect(err.metadata.get('content-type')).toEqual(['application/grpc']);
  });
});
