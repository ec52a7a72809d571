import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared.ts';

// The soak run (`pnpm test:soak`): not part of the root projects, so never in `pnpm test` / CI.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: sourceAliases },
  test: {
    name: 'soak',
    include: ['*.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
