// Runs before `pnpm test`: stops at once when a program the tests start is not installed, naming
// each one and the Debian package that provides it, instead of letting tests fail one by one
// (no test is skipped for a missing program).
import { debianPackagesOf, describeMissing, missingRequirements } from './system-requirements.mjs';

const MIN_NODE = [20, 18];

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  console.error(`preflight: Node ${process.versions.node} is too old; Switchyard needs Node >= ${MIN_NODE.join('.')}`);
  process.exit(1);
}

const missing = missingRequirements(['tests']);
if (missing.length > 0) {
  const packages = debianPackagesOf(missing).join(' ');
  console.error(
    [
      `preflight: the tests need ${missing.length === 1 ? 'a program' : 'programs'} that ${missing.length === 1 ? 'is' : 'are'} not installed:`,
      ...describeMissing(missing),
      '',
      'On Debian or Ubuntu, `npm run setup` as root installs them, or run:',
      `  sudo apt-get update && sudo apt-get install -y ${packages}`,
      'Elsewhere, install the same programs with your system package manager.',
    ].join('\n'),
  );
  process.exit(1);
}
