import { type FSWatcher, watch } from 'node:fs';

/** Timing of {@link watchConfigFile}, in ms. */
export interface ConfigWatchTiming {
  /** Delay between a change and `onChange`, so an editor's several writes become one call. */
  readonly debounceMs: number;
  /** While the file is missing (deleted, mid-replace), how often the watch is tried again. */
  readonly retryMs: number;
  /** How long a missing file is waited for before the watch gives up (`onError`). */
  readonly giveUpMs: number;
}

export const CONFIG_WATCH_TIMING: ConfigWatchTiming = Object.freeze({
  debounceMs: 150,
  retryMs: 250,
  giveUpMs: 30_000,
});

/** What {@link watchConfigFile} calls. */
export interface ConfigWatchHooks {
  /** The file changed, was replaced, or came back after it was missing (debounced). */
  readonly onChange: () => void;
  /** The watch stopped for good: the file could not be watched, or stayed missing too long. */
  readonly onError: (err: Error) => void;
}

/** A running {@link watchConfigFile}. */
export interface ConfigWatch {
  close(): void;
}

/**
 * Watches one file (not its folder) and calls `onChange` after it changes.
 *
 * Why the file: a folder watch wakes the process for every write to any file in the folder,
 * and the access log often sits beside its config (`serve --config ./lb.json > ./access.log`):
 * one inotify wake-up per log write. A file watch follows the inode, so a save by rename (most
 * editors, `mv`, Kubernetes' ConfigMap symlink swap) leaves it on the old file: after every
 * change the watch is re-armed on whatever the path names then, before `onChange` runs, so no
 * later change is missed. A missing path (deleted, or mid-replace) is retried every `retryMs`
 * for up to `giveUpMs`; when it comes back, `onChange` runs.
 *
 * Throws if the file cannot be watched at the start (e.g. it does not exist).
 */
export function watchConfigFile(
  path: string,
  hooks: ConfigWatchHooks,
  timing: ConfigWatchTiming = CONFIG_WATCH_TIMING,
): ConfigWatch {
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const arm = (): void => {
    watcher?.close();
    watcher = watch(path, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => settle(Date.now() + timing.giveUpMs), timing.debounceMs);
    });
    watcher.on('error', (err) => stop(err));
  };
  const stop = (err: Error): void => {
    if (closed) return;
    close();
    hooks.onError(err);
  };
  // Re-arm first, then report: a change after this point fires the new watch.
  const settle = (deadline: number): void => {
    if (closed) return;
    try {
      arm();
    } catch (err) {
      watcher = undefined;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') stop(err as Error);
      else if (Date.now() >= deadline) stop(new Error(`${path} stayed missing for ${timing.giveUpMs} ms`));
      else retry = setTimeout(() => settle(deadline), timing.retryMs);
      return;
    }
    hooks.onChange();
  };
  const close = (): void => {
    closed = true;
    clearTimeout(debounce);
    clearTimeout(retry);
    watcher?.close();
    watcher = undefined;
  };

  arm();
  return { close };
}
