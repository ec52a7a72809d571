/** Where progress goes: a stream with `write` and, for a terminal, `isTTY`. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const WIDTH = 30;

/**
 * A one-line progress bar redrawn in place (`\r`) on a terminal, for runs long
 * enough to need one: nothing is drawn for work under `minTotal` units or when the
 * stream is not a TTY (unless `force`), so piped output stays clean. Redraws at most
 * once per whole percent.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #enabled: boolean;
  readonly #minTotal: number;
  #label = '';
  #percent = -1;
  #drawn = false;

  constructor(stream: ProgressStream, options: { force?: boolean; minTotal?: number } = {}) {
    this.#stream = stream;
    this.#enabled = options.force === true || stream.isTTY === true;
    this.#minTotal = options.minTotal ?? 200_000;
  }

  /** Shows `done / total` for `label`. */
  update(label: string, done: number, total: number): void {
    if (!this.#enabled || total < this.#minTotal) return;
    const percent = Math.min(100, Math.floor((100 * done) / Math.max(total, 1)));
    if (label === this.#label && percent === this.#percent) return;
    this.#label = label;
    this.#percent = percent;
    const filled = Math.round((WIDTH * percent) / 100);
    this.#stream.write(
      `\r[${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${String(percent).padStart(3)}% ${label}\x1b[K`,
    );
    this.#drawn = true;
  }

  /** Clears the bar so the report starts on a clean line. */
  done(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}
