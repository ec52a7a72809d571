import type { Backend } from '@switchyard/core';
import type { OutlierDetector, OutlierOutcome } from '@switchyard/health';

/** An outlier detector that calls `onPool` after every `setBackends`; everything else is the inner one's. */
export class PoolWatchingDetector implements OutlierDetector {
  constructor(
    private readonly inner: OutlierDetector,
    private readonly onPool: () => void,
  ) {}

  record(backend: Backend | string, outcome: OutlierOutcome): void {
    this.inner.record(backend, outcome);
  }

  isEjected(backend: Backend | string): boolean {
    return this.inner.isEjected(backend);
  }

  reinstate(backend: Backend | string): void {
    this.inner.reinstate(backend);
  }

  eject(backend: Backend | string, ms: number): boolean {
    return this.inner.eject(backend, ms);
  }

  setBackends(backends: readonly Backend[]): void {
    this.inner.setBackends(backends);
    this.onPool();
  }

  ejected(): readonly string[] {
    return this.inner.ejected();
  }

  on(event: 'eject' | 'reinstate', listener: (id: string, ejectionMs: number) => void): this {
    this.inner.on(event as 'eject', listener);
    return this;
  }

  off(event: 'eject' | 'reinstate', listener: (id: string, ejectionMs: number) => void): this {
    this.inner.off(event as 'eject', listener);
    return this;
  }
}
