import type { Backend, Selector } from '@switchyard/core';

/** How often a view whose selector was recomputed without some backends looks at them again, ms. */
const RECHECK_MS = 250;

/**
 * What a balancer's `select()` walks: its selector, or, for a selector that recomputes itself
 * without the backends that are not ready (`Selector.without`, e.g. HAProxy's map), that
 * recomputation, redone whenever the set of backends that are not ready changes. Selectors
 * without `without` are used as they are (the balancer walks past unready backends).
 */
export class ReadyView {
  readonly #isReady: (id: string) => boolean;
  #selector: Selector;
  #backends: readonly Backend[];
  #active: Selector;
  #outKey = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(selector: Selector, backends: readonly Backend[], isReady: (id: string) => boolean) {
    this.#selector = selector;
    this.#backends = backends;
    this.#active = selector;
    this.#isReady = isReady;
  }

  /** The selector to pick from now. */
  get active(): Selector {
    return this.#active;
  }

  /** A new selector over a new backend set (membership changed). */
  replace(selector: Selector, backends: readonly Backend[]): void {
    this.#selector = selector;
    this.#backends = backends;
    this.#active = selector;
    this.#outKey = '';
    this.refresh();
  }

  /** Recomputes the active selector if the set of unready backends changed; cheap when it did not. */
  readonly refresh = (): void => {
    const selector = this.#selector;
    const without = selector.without;
    if (without === undefined || this.#closed) {
      this.#active = selector;
      this.#stopTimer();
      return;
    }
    const out = new Set<string>();
    for (const b of this.#backends) if (!this.#isReady(b.id)) out.add(b.id);
    const key = [...out].join('\n');
    if (key !== this.#outKey || this.#active === selector) {
      this.#outKey = key;
      this.#active = out.size === 0 ? selector : without.call(selector, out);
    }
    // Ejections end lazily (on the next readiness check), and the recomputed selector never
    // yields an ejected backend again: look at the set every 250 ms while it is not empty.
    if (out.size === 0) this.#stopTimer();
    else if (this.#timer === undefined) {
      this.#timer = setInterval(this.refresh, RECHECK_MS);
      this.#timer.unref();
    }
  };

  close(): void {
    this.#closed = true;
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
