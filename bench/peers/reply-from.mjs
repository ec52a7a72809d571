// fastify + @fastify/reply-from as a user would run it for this job: `base` given as a list makes
// reply-from balance over an undici BalancedPool (keep-alive); bodies are streamed, not parsed.
import { requireFromProxy } from '../lib/deps.mjs';
import { exitOnSignal, peerArgs } from './args.mjs';

const Fastify = requireFromProxy('fastify');
const replyFrom = requireFromProxy('@fastify/reply-from');
const { port, host, upstreams } = peerArgs();

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
await app.register(replyFrom, { base: upstreams.map((address) => `http://${address}`) });
app.all('/*', (request, reply) => {
  reply.from(request.url);
});
await app.listen({ port, host });
exitOnSignal(() => app.close());
