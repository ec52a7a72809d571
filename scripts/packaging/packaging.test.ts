import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm test:packaging`: packs the four published packages as a release would, checks their
// manifests, and uses the tarballs from fresh projects outside the workspace, once installed with
// npm and once with pnpm, the way the root README's "Use it in your project" says.

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./consumer/', import.meta.url));
const PUBLISHED = ['@switchyard/core', '@switchyard/selectors', '@switchyard/health', '@switchyard/proxy'];
const PRIVATE = '@switchyard/testkit';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  [field: string]: unknown;
}

const readJson = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
const rootManifest = readJson(join(REPO, 'package.json'));
const devVersion = (name: string): string => (rootManifest.devDependencies as Record<string, string>)[name]!;

/** The environment of a user's shell: none of the variables pnpm sets for the script running this test. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_|^PNPM_|^VITEST|^TURBO_/i.test(name)),
);

/** Runs a command; on failure the error carries its exit status and says everything it printed. */
function sh(cwd: string, command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd, env: userEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const { status, stdout, stderr } = err as { status: number | null; stdout: string; stderr: string };
    throw Object.assign(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${status}:\n${stdout}${stderr}`), {
      status,
      stdout,
      stderr,
    });
  }
}

const work = mkdtempSync(join(tmpdir(), 'switchyard-packaging-'));
const packDir = join(work, 'tarballs');
const tarballs = new Map<string, string>(); // package name → tarball file name
const manifests = new Map<string, Manifest>(); // package name → the packed package.json
const contents = new Map<string, string[]>(); // package name → files in the tarball

beforeAll(() => {
  expect(relative(REPO, work).startsWith('..'), `${work} must be outside the repository`).toBe(true);
  mkdirSync(packDir);
  sh(REPO, 'pnpm', ['-r', '--filter', `!${PRIVATE}`, 'pack', '--pack-destination', packDir]);
  for (const file of readdirSync(packDir).filter((f) => f.endsWith('.tgz'))) {
    const out = join(work, 'extracted', file);
    mkdirSync(out, { recursive: true });
    sh(packDir, 'tar', ['-xzf', file, '-C', out]);
    const manifest = readJson(join(out, 'package', 'package.json'));
    tarballs.set(manifest.name, file);
    manifests.set(manifest.name, manifest);
    contents.set(
      manifest.name,
      sh(packDir, 'tar', ['-tzf', file])
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.replace(/^package\//, '')),
    );
  }
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('pnpm -r pack', () => {
  it('makes one tarball per published package; the private testkit is not among them', () => {
    expect([...tarballs.keys()].sort()).toEqual([...PUBLISHED].sort());
  });

  it('writes complete manifests: real versions, exports with types first, files, engines, license, repository', () => {
    const versions = new Map(PUBLISHED.map((name) => [name, manifests.get(name)!.version]));
    for (const name of PUBLISHED) {
      const m = manifests.get(name)!;
      const files = contents.get(name)!;
      const where = `${name}'s packed package.json`;
      expect(JSON.stringify(m), where).not.toContain('workspace:');
      expect(m.private, where).toBeUndefined();
      expect(m.license, where).toBe('MIT');
      expect((m.repository as { url: string }).url, where).toBe((rootManifest.repository as { url: string }).url);
      expect((m.repository as { directory: string }).directory, where).toBe(`packages/${name.split('/')[1]}`);
      expect((m.engines as { node: string }).node, where).toBe((rootManifest.engines as { node: string }).node);
      expect(m.type, where).toBe('module');
      expect(files, where).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
      expect(
        files.filter((f) => f.endsWith('.tsbuildinfo') || f.includes('test/')),
        where,
      ).toEqual([]);
      for (const [subpath, target] of Object.entries(m.exports as Record<string, unknown>)) {
        if (typeof target === 'string') continue; // ./package.json
        const entry = target as Record<string, string>;
        expect(Object.keys(entry)[0], `${where}: exports['${subpath}']`).toBe('types');
        for (const file of Object.values(entry))
          expect(files, `${where}: exports['${subpath}']`).toContain(file.slice(2));
      }
      const runtime = {
        ...(m.dependencies as object),
        ...(m.peerDependencies as object),
        ...(m.optionalDependencies as object),
      };
      expect(Object.keys(runtime), where).not.toContain(PRIVATE);
      for (const [dep, range] of Object.entries(runtime)) {
        if (versions.has(dep)) expect(range, `${where}: ${dep}`).toBe(versions.get(dep));
        if (name !== '@switchyard/selectors') expect(['fast-check', 'vitest'], `${where}: ${dep}`).not.toContain(dep);
      }
    }
    const selectors = manifests.get('@switchyard/selectors')!;
    expect(Object.keys(selectors.peerDependencies as object).sort()).toEqual(['fast-check', 'vitest']);
    expect(selectors.peerDependenciesMeta).toEqual({ 'fast-check': { optional: true }, vitest: { optional: true } });
    expect(Object.keys(selectors.dependencies as object)).not.toContain('fast-check');
    const proxy = manifests.get('@switchyard/proxy')!;
    const bin = (proxy.bin as Record<string, string>).switchyard!;
    expect(contents.get('@switchyard/proxy')).toContain(bin.replace(/^\.\//, ''));
  });
});

const EXAMPLE_CONFIG = {
  listen: '127.0.0.1:8080',
  upstreams: {
    web: {
      backends: ['127.0.0.1:9001', { address: '127.0.0.1:9002', weight: 2 }],
      selector: { type: 'consistent', key: 'uri' },
      health: { type: 'http', path: '/healthz', intervalMs: 1000 },
    },
  },
};

/**
 * A fresh project of a user's, set up with the commands of the root README's "Use it in your
 * project": the four tarballs, then TypeScript, Node's types and fast-check for the consumer program.
 */
function consumerProject(manager: 'npm' | 'pnpm'): string {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-consumer-${manager}-`));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'my-project', private: true, type: 'module' })}\n`,
  );
  copyFileSync(join(CONSUMER, 'main.ts'), join(dir, 'main.ts'));
  copyFileSync(join(CONSUMER, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  writeFileSync(join(dir, 'switchyard.json'), `${JSON.stringify(EXAMPLE_CONFIG, null, 2)}\n`);
  writeFileSync(join(dir, 'broken.json'), `${JSON.stringify({ ...EXAMPLE_CONFIG, listen: 'nowhere' })}\n`);
  const files = PUBLISHED.map((name) => join(packDir, tarballs.get(name)!));
  const tools = ['typescript', '@types/node', 'fast-check'].map((name) => `${name}@${devVersion(name)}`);
  if (manager === 'npm') {
    sh(dir, 'npm', ['install', '--no-audit', '--no-fund', ...files]);
    sh(dir, 'npm', ['install', '--no-audit', '--no-fund', '--save-dev', ...tools]);
  } else {
    // The packages depend on each other by version: point those versions at the tarballs too.
    sh(dir, 'npm', ['pkg', 'set', ...PUBLISHED.map((name, i) => `pnpm.overrides.${name}=file:${files[i]}`)]);
    sh(dir, 'pnpm', ['add', ...files]);
    sh(dir, 'pnpm', ['add', '--save-dev', ...tools]);
  }
  return dir;
}

describe.each(['npm', 'pnpm'] as const)('the tarballs in a fresh %s project', (manager) => {
  let dir = '';
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('install, type-check under strict NodeNext, and run: a selector, the laws on a custom one, the proxy', () => {
    dir = consumerProject(manager);
    for (const name of PUBLISHED) {
      const installed = readJson(join(dir, 'node_modules', name, 'package.json'));
      expect(installed.version, `${name} installed by ${manager}`).toBe(manifests.get(name)!.version);
    }
    sh(dir, 'npx', ['--no-install', 'tsc', '-p', '.']);
    const out = sh(dir, 'node', ['dist/main.js']);
    expect(out).toMatch(/^selector: (127\.0\.0\.1:900[123] ?){3}$/m);
    expect(out).toMatch(/^laws: \{/m);
    expect(out).toContain('proxy: 200 hello from the backend: /through/the/proxy');
  });

  it("runs `npx switchyard --version`: the proxy package's version", () => {
    expect(existsSync(join(dir, 'node_modules', '.bin', 'switchyard'))).toBe(true);
    const printed = sh(dir, 'npx', ['--no-install', 'switchyard', '--version']).trim();
    expect(printed).toBe(manifests.get('@switchyard/proxy')!.version);
  });

  it('runs `npx switchyard check` on an example config: valid passes, a bad listen address fails naming it', () => {
    sh(dir, 'npx', ['--no-install', 'switchyard', 'check', '--config', 'switchyard.json']);
    let failure: { status: number; stderr: string } | undefined;
    try {
      sh(dir, 'npx', ['--no-install', 'switchyard', 'check', '--config', 'broken.json']);
    } catch (err) {
      failure = err as { status: number; stderr: string };
    }
    expect(failure?.status).not.toBe(0);
    expect(failure?.stderr).toContain('listen');
  });
});
