import { type Backend, isLbError, LoadTracker } from '@switchyard/core';
import { withSlowStart } from '@switchyard/selectors';
import type { ConfigIssue } from './issues.js';
import { SELECTOR_TYPES, type SelectorType } from './selector-types.js';

/** What `selectorIssues` needs of an upstream's selector settings. */
interface SelectorSettings {
  readonly type: string;
  readonly slowStartMs: number | undefined;
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * Builds an upstream's selector once, from its listed backends (none with discovery), the way
 * the balancer builds it, so that what the algorithm itself rejects (a maglev table smaller than
 * 100 × the backends, ketama points that are not a multiple of 4) is a config problem at
 * `<at>.selector.<option>` rather than a failure when `serve` starts.
 */
export function selectorIssues(
  at: string,
  s: SelectorSettings,
  backends: readonly Backend[],
  issues: ConfigIssue[],
): void {
  const type = (SELECTOR_TYPES as Record<string, SelectorType>)[s.type];
  if (type === undefined) return;
  try {
    const built = type.factory(s.options, type.loadAware ? { tracker: new LoadTracker() } : {});
    const factory = s.slowStartMs === undefined ? built : withSlowStart(built, { windowMs: s.slowStartMs });
    factory(backends);
  } catch (err) {
    if (!isLbError(err)) throw err;
    const match = /^\S+ ([A-Za-z]+)[^:]*: (.*)$/s.exec(err.message);
    const option = match?.[1] === 'windowMs' ? 'slowStartMs' : match?.[1];
    const known = option !== undefined && (option === 'slowStartMs' || Object.hasOwn(s.options, option));
    issues.push(
      known && match !== null
        ? { path: `${at}.selector.${option}`, message: match[2] ?? err.message }
        : { path: `${at}.selector`, message: err.message },
    );
  }
}
