import { EventEmitter } from 'node:events';
import type { Backend } from '@switchyard/core';
import type { Logger } from 'pino';

/** True when both lists hold the same ids with the same weights, in any order. */
export function sameBackends(a: readonly Backend[], b: readonly Backend[]): boolean {
  if (a.length !== b.length) return false;
  const weights = new Map(a.map((x) => [x.id, x.weight]));
  return b.every((x) => weights.get(x.id) === x.weight);
}

/**
 * The last good backend list of a refreshing discovery, and its `change` event:
 * `accept` stores a new list and emits when it differs from the previous good one.
 */
export class LastGood {
  readonly #events = new EventEmitter();
  #list: readonly Backend[] | undefined;

  constructor(private readonly log: Logger) {}

  get list(): readonly Backend[] | undefined {
    return this.#list;
  }

  accept(next: readonly Backend[]): readonly Backend[] {
    const previous = this.#list;
    if (previous !== undefined && sameBackends(previous, next)) return previous;
    const frozen = Object.freeze([...next]);
    this.#list = frozen;
    if (previous !== undefined) {
      this.log.info({ backends: frozen.map((b) => b.id) }, `discovery changed: ${frozen.length} backends`);
      try {
        this.#events.emit('change', frozen);
      } catch (err) {
        this.log.error({ err }, 'a discovery change listener threw');
      }
    }
    return frozen;
  }

  on(listener: (backends: readonly Backend[]) => void): void {
    this.#events.on('change', listener);
  }

  off(listener: (backends: readonly Backend[]) => void): void {
    this.#events.off('change', listener);
  }
}
