import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configError } from './issues.js';
import { type ResolvedConfig, resolveConfig } from './resolve.js';

/**
 * Reads, parses and resolves a config file: `.json` as JSON, `.yaml`/`.yml` as YAML,
 * anything else as JSON and then YAML. Relative paths inside are resolved against
 * the file's folder. Throws `LbError` `LB_ERR_INVALID_CONFIG` naming the file when it
 * cannot be read or parsed, and the field paths when it does not validate.
 */
export function loadConfig(path: string): ResolvedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw configError([{ path: '(file)', message: `cannot read it (${String(code ?? err)})` }], file, err);
  }
  return resolveConfig(parseConfigText(text, file), dirname(file), file);
}

/** Parses config text by the file's extension (see {@link loadConfig}). */
export function parseConfigText(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  const yaml = ext === '.yaml' || ext === '.yml';
  try {
    if (yaml) return parseYaml(text, { prettyErrors: true });
    return JSON.parse(text);
  } catch (err) {
    if (!yaml && ext !== '.json') {
      try {
        return parseYaml(text, { prettyErrors: true });
      } catch {
        // Report the JSON error: JSON was the first guess for an unknown extension.
      }
    }
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw configError([{ path: '(file)', message: `expected valid ${yaml ? 'YAML' : 'JSON'}: ${reason}` }], file, err);
  }
}
