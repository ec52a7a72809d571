import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Aliases from each package's public entry points to its `src`, so tests run
 * without a build. More specific subpaths come first.
 */
export const sourceAliases = [
  { find: /^@switchyard\/selectors\/testing$/, replacement: `${root}packages/selectors/src/testing/index.ts` },
  { find: /^@switchyard\/core$/, replacement: `${root}packages/core/src/index.ts` },
  { find: /^@switchyard\/selectors$/, replacement: `${root}packages/selectors/src/index.ts` },
  { find: /^@switchyard\/health$/, replacement: `${root}packages/health/src/index.ts` },
  { find: /^@switchyard\/testkit$/, replacement: `${root}packages/testkit/src/index.ts` },
  { find: /^@switchyard\/proxy$/, replacement: `${root}packages/proxy/src/index.ts` },
];
