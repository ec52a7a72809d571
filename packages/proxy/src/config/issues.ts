import { describe, LbError } from '@switchyard/core';
import type { z } from 'zod';
import { redactAt, redactText } from './redact.js';

/** One config problem: where (dotted path, `[i]` for array items) and the sentence for it. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Renders a path like `upstreams.web.backends[1].weight`; the root is `(config)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(config)' : out;
}

/** The value at `path` inside `root`, looking only at own properties. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/**
 * Turns zod issues into `path: expected …, got …` sentences. For a union whose value
 * matched one branch's type (an object with a bad field), the branch's own issues are
 * reported at their deeper paths instead of "expected one of …".
 */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  collect(issues, [], input, out);
  return out;
}

function collect(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
  input: unknown,
  out: ConfigIssue[],
): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // A branch whose failures are all below the root matched the value's shape: report its detail.
      const branch = issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
      if (branch !== undefined) {
        collect(branch, path, input, out);
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...path, key]), message: `unknown field; expected ${issue.message}` });
      }
      continue;
    }
    const value = valueAt(input, path);
    const got =
      value === undefined && issue.code === 'invalid_type'
        ? 'nothing (the field is required)'
        : describe(redactAt(path, value));
    out.push({ path: formatPath(path), message: `expected ${expected(issue)}, got ${got}` });
  }
}

// zod's own messages start with these words; ours never do.
const ZOD_DEFAULT = /^(Invalid|Too |Unrecognized|Expected)/;

/** The schema's own `error` text, or a plain rendering of zod's issue when the schema gave none. */
function expected(issue: z.core.$ZodIssue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `a value of type ${issue.expected}`;
    case 'too_small':
      return `${issue.origin} of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.origin} of at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return 'a valid value';
  }
}

/** The `LB_ERR_INVALID_CONFIG` error for `issues`: one `path: message` line per issue. */
export function configError(issues: readonly ConfigIssue[], source?: string, cause?: unknown): LbError {
  const lines = issues.map((i) => redactText(`${i.path}: ${i.message}`));
  const head = source === undefined ? '' : `${source}: `;
  const message =
    lines.length === 1
      ? `${head}${lines[0]}`
      : `${head}${lines.length} problems\n${lines.map((l) => `  ${l}`).join('\n')}`;
  return new LbError('LB_ERR_INVALID_CONFIG', message, cause === undefined ? {} : { cause });
}
