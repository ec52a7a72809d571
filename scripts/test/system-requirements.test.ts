import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  debianPackagesOf,
  describeMissing,
  locate,
  missingRequirements,
  SYSTEM_REQUIREMENTS,
} from '../system-requirements.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under `dir`, recursively (bounded by the tree's size). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The code the test suite runs: every package's tests, the testkit and these tests. */
function testSources(): string[] {
  const packages = join(REPO, 'packages');
  const own = tsFiles(fileURLToPath(new URL('.', import.meta.url)));
  return own.concat(
    ...readdirSync(packages).map((name) => {
      const dirs = name === 'testkit' ? ['src'] : ['test'];
      return dirs.flatMap((dir) => {
        try {
          return tsFiles(join(packages, name, dir));
        } catch {
          return [];
        }
      });
    }),
  );
}

/** Programs the tests start by name, and the absolute program paths they use. */
function programsStarted(): { names: Set<string>; paths: Set<string> } {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const file of testSources()) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|execSync)\(\s*'([^'\s]+)/g)) {
      names.add(basename(m[1]!));
    }
    for (const m of text.matchAll(/'(\/(?:usr\/)?(?:s?bin)\/[\w.-]+)'/g)) {
      paths.add(m[1]!);
      names.add(basename(m[1]!));
    }
  }
  return { names, paths };
}

describe('the list of programs the tests start', () => {
  it('names every program a test or the testkit starts, with the path the test uses', () => {
    const { names, paths } = programsStarted();
    // The scan finds what it must: these are started today (a broken scan would find nothing).
    expect([...names]).toEqual(expect.arrayContaining(['nginx', 'dnsmasq', 'chromium', 'openssl']));
    const listed = new Map(SYSTEM_REQUIREMENTS.filter((r) => r.scope === 'tests').map((r) => [r.program, r]));
    for (const name of names) expect(listed.has(name), `${name} is started by a test but not listed`).toBe(true);
    for (const path of paths) expect(listed.get(basename(path))?.paths, `${path}`).toContain(path);
  });

  it('gives every program a Debian package, a purpose and at least one absolute path', () => {
    for (const r of SYSTEM_REQUIREMENTS) {
      expect(r.debianPackage, r.program).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
      expect(r.usedBy.length, r.program).toBeGreaterThan(10);
      expect(r.paths.length, r.program).toBeGreaterThan(0);
      for (const path of r.paths) expect(path.startsWith('/'), path).toBe(true);
      expect(['tests', 'fixtures']).toContain(r.scope);
    }
  });

  it('reports a missing program with the package that provides it, and not an installed one', () => {
    const present = {
      program: 'node',
      debianPackage: 'nodejs',
      paths: [process.execPath],
      scope: 'tests',
      usedBy: 'x',
    };
    const absent = {
      program: 'switchyard-no-such-program',
      debianPackage: 'no-such-package',
      paths: ['/nonexistent/switchyard-no-such-program'],
      scope: 'tests',
      usedBy: 'the test of the preflight',
    };
    expect(locate(present)).toBe(process.execPath);
    expect(locate(absent)).toBeUndefined();
    const missing = missingRequirements(['tests'], [present, absent, { ...absent, scope: 'fixtures' }]);
    expect(missing).toEqual([absent]);
    expect(describeMissing(missing)).toEqual([
      "  switchyard-no-such-program: install Debian's no-such-package package (needed by the test of the preflight)",
    ]);
    expect(debianPackagesOf([absent, absent, present])).toEqual(['no-such-package', 'nodejs']);
  });
});

describe('the test preflight', () => {
  it('runs first in pnpm test', () => {
    const scripts = (
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.test).toMatch(/^node scripts\/preflight\.mjs && /);
  });

  it('stops at once, naming each missing program and its package, when programs are missing', () => {
    // A private mount namespace where /dev/null (not executable) covers nginx and openssl, so
    // to the preflight they are not installed; nothing outside this one command sees the mounts.
    const hide = ['nginx', 'openssl'].map((program) => SYSTEM_REQUIREMENTS.find((r) => r.program === program)!);
    const mounts = hide.map((r) => `mount --bind /dev/null ${locate(r)}`).join(' && ');
    let failure: { status: number; stdout: string; stderr: string } | undefined;
    try {
      execFileSync(
        'unshare',
        ['--mount', '--map-root-user', 'sh', '-c', `${mounts} && exec "$0" scripts/preflight.mjs`, process.execPath],
        {
          cwd: REPO,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (err) {
      failure = err as typeof failure;
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain("nginx: install Debian's nginx-light package");
    expect(failure?.stderr).toContain("openssl: install Debian's openssl package");
    expect(failure?.stderr).toContain('apt-get install -y nginx-light openssl');
    expect(failure?.stderr).not.toContain('dnsmasq');
  });

  it('passes when every program is installed', () => {
    expect(execFileSync(process.execPath, ['scripts/preflight.mjs'], { cwd: REPO, encoding: 'utf8' })).toBe('');
  });
});
