#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { checkCommand } from './commands/check.js';
import { type Command, EXIT_USAGE, errorText } from './commands/command.js';
import { demoCommand } from './commands/demo.js';
import { serveCommand } from './commands/serve.js';
import { simulateCommand } from './commands/simulate.js';

/** The `switchyard` sub-commands: adding one is a module under `commands/` and one line here. */
const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  check: checkCommand,
  demo: demoCommand,
  simulate: simulateCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: switchyard <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     this text; `switchyard <command> --help` (or `switchyard help <command>`)',
    "                 prints a command's options",
    '  -v, --version  the version of @switchyard/proxy',
    '',
    'Exit codes: 0 success, 1 invalid config or failed run, 64 usage error.',
  ].join('\n');
}

/** The version in the proxy package's manifest (one directory above `src/` and `dist/`). */
function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const found = (manifest as { version?: unknown }).version;
  if (typeof found !== 'string') throw new Error('the @switchyard/proxy package.json has no version');
  return found;
}

function findCommand(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

function unknownCommand(name: string): number {
  process.stderr.write(`switchyard: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
  return EXIT_USAGE;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${help()}\n`);
    return EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') {
    if (rest.length > 0) {
      process.stderr.write(`switchyard: ${name} takes no arguments\n`);
      return EXIT_USAGE;
    }
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const [topic, ...extra] = rest;
    if (topic === undefined) {
      process.stdout.write(`${help()}\n`);
      return 0;
    }
    if (extra.length > 0) {
      process.stderr.write(`switchyard: help takes one command name, got ${JSON.stringify(rest.join(' '))}\n`);
      return EXIT_USAGE;
    }
    const command = findCommand(topic);
    if (command === undefined) return unknownCommand(topic);
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  const command = findCommand(name);
  if (command === undefined) return unknownCommand(name);
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever still holds the event loop open (a lingering socket) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    // The last line of defence: a message, never a stack trace.
    process.stderr.write(`switchyard: ${errorText(err)}\n`);
    process.exit(1);
  },
);
