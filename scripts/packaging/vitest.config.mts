import { defineConfig } from 'vitest/config';

// The packaging test alone (`pnpm test:packaging`): it installs from the npm registry, so it sits
// outside `pnpm test`'s projects and has minutes, not seconds.
export default defineConfig({
  test: {
    include: ['scripts/packaging/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
