import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { formatConfig } from '../config/print.js';
import { type Command, EXIT_USAGE, errorText } from './command.js';

const USAGE = `Usage: switchyard check --config FILE

Validates a config file (JSON or YAML) and prints the resolved config: defaults filled
in, file paths absolute, secrets left out. Exits 1 with one line per problem, each
naming the field path, when the file is invalid.

  --config, -c FILE   the config file to check
  --help, -h          this text

Exit codes: 0 valid, 1 invalid config, 64 usage error.`;

/** `switchyard check --config FILE`. */
export const checkCommand: Command = {
  summary: 'validate a config file and print the resolved config',
  usage: USAGE,
  async run(args) {
    let config: string | undefined;
    try {
      const { values } = parseArgs({
        args: [...args],
        options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
      });
      if (values.help === true) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      config = values.config;
    } catch (err) {
      process.stderr.write(`switchyard check: ${errorText(err)}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (config === undefined) {
      process.stderr.write(`switchyard check: --config FILE is required\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    try {
      const resolved = loadConfig(config);
      process.stdout.write(`${formatConfig(resolved)}\n`);
      const names = Object.keys(resolved.upstreams);
      process.stderr.write(
        `switchyard check: ${resolved.source ?? config} is valid (${names.length} upstream${names.length === 1 ? '' : 's'}: ${names.join(', ')})\n`,
      );
      return 0;
    } catch (err) {
      process.stderr.write(`switchyard check: invalid config\n${errorText(err)}\n`);
      return 1;
    }
  },
};
