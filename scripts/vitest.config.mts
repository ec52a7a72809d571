import { defineProject } from 'vitest/config';

// Tests of the repository's own scripts (set-up, preflight). The packaging test is not here: it
// installs from the registry and runs alone, as `pnpm test:packaging`.
export default defineProject({
  test: {
    name: 'scripts',
    include: ['test/**/*.test.ts'],
  },
});
