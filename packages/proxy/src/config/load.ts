import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configError } from './issues.js';
import { findJsonSyntaxError } from './json-syntax.js';
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

/**
 * Parses config text by the file's extension (see {@link loadConfig}). A syntax error is an
 * `LB_ERR_INVALID_CONFIG` naming the file, the line and the column, and quoting none of the text.
 */
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
    const reason = yaml ? yamlReason(err) : jsonReason(text, err);
    throw configError([{ path: '(file)', message: `expected valid ${yaml ? 'YAML' : 'JSON'}: ${reason}` }], file, err);
  }
}

function jsonReason(text: string, err: unknown): string {
  const found = findJsonSyntaxError(text);
  if (found !== undefined) return `line ${found.line}, column ${found.column}: ${found.reason}`;
  // JSON.parse and the scanner disagree (not expected): keep JSON.parse's first clause, never its quote of the text.
  return err instanceof Error ? (err.message.split(/[,\n]/)[0] ?? err.message) : String(err);
}

function yamlReason(err: unknown): string {
  const pos = (err as { linePos?: readonly { line: number; col: number }[] }).linePos?.[0];
  // The first line of the yaml package's message, without the excerpt of the file it appends.
  const first = (err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err))
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:$/, '');
  return pos === undefined ? first : `line ${pos.line}, column ${pos.col}: ${first}`;
}
