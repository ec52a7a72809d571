// The peers (http-proxy, fastify + @fastify/reply-from, undici, autocannon) are dev dependencies
// of @switchyard/proxy; resolving them from that package keeps the root free of duplicates. The
// proxy itself is reached the same way, through its published entry points only.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** `require` anchored at packages/proxy, where the benchmark peers are installed. */
export const requireFromProxy = createRequire(new URL('../../packages/proxy/package.json', import.meta.url));

/**
 * `@switchyard/proxy` as a user gets it: its published entry point (the built `dist/index.js`,
 * resolved through the package's `exports` map), never a file inside `dist/`.
 */
export async function importProxy() {
  return import(pathToFileURL(requireFromProxy.resolve('@switchyard/proxy')).href);
}

/** The `switchyard` command as published: the `bin` entry of @switchyard/proxy's package.json. */
export function switchyardBin() {
  const manifest = requireFromProxy.resolve('@switchyard/proxy/package.json');
  return path.join(path.dirname(manifest), requireFromProxy(manifest).bin.switchyard);
}
