// The peers (http-proxy, fastify + @fastify/reply-from, undici, autocannon) are dev dependencies
// of @switchyard/proxy; resolving them from that package keeps the root free of duplicates.
import { createRequire } from 'node:module';

/** `require` anchored at packages/proxy, where the benchmark peers are installed. */
export const requireFromProxy = createRequire(new URL('../../packages/proxy/package.json', import.meta.url));
