#!/usr/bin/env node
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
  return `Usage: switchyard <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`switchyard <command> --help\` for a command's options.`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`switchyard: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    return EXIT_USAGE;
  }
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
