import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The example config that the closing lines of the demo point at, relative to the repository root. */
export const DEMO_NEXT_CONFIG = 'examples/health-checked.yaml';

/**
 * The demo's closing lines: commands to paste next. In a clone of the repository (its
 * `examples/` folder under `cwd`), start the example backends and serve the matching config;
 * anywhere else, where the command came from an installed package, serve the embedded default.
 */
export function nextSteps(cwd: string): string[] {
  if (existsSync(join(cwd, 'examples', 'backends.mjs')) && existsSync(join(cwd, DEMO_NEXT_CONFIG))) {
    return [
      'Next: run the proxy from a config file. Start the example backends in one terminal:',
      '  node examples/backends.mjs',
      'and the proxy in front of them in another (then: curl -i http://127.0.0.1:8080/hello):',
      `  pnpm switchyard serve --config ${DEMO_NEXT_CONFIG}`,
      'examples/ has more configs; packages/proxy/README.md describes every field.',
    ];
  }
  return [
    'Next: `npx switchyard serve` runs the proxy in front of three demo backends on http://127.0.0.1:8080;',
    '`npx switchyard check --config FILE` validates a config of your own (the @switchyard/proxy README describes every field).',
  ];
}
