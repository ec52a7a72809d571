import { invalidOption } from './errors.js';
import { PEER_OPTIONS_DEFAULTS, type PeerOptions, resolvePeerOptions } from './peer-options.js';

/**
 * An {@link HttpPeer}'s options as Pingora users write them inside `upstream_peer()`:
 * `peer.options.readTimeout = 2_000`. Each assignment is validated at once; a bad value
 * throws `LB_ERR_INVALID_OPTION` naming the field and leaves every option as it was.
 * Assigning `undefined` clears an option whose default is `undefined` (a timeout, `bindTo`, …).
 * No field can be added or removed.
 */
export type LivePeerOptions = { -readonly [K in keyof PeerOptions]: PeerOptions[K] };

/** Holds one peer's current, validated, frozen options; `view` reads and writes through it. */
export interface PeerOptionsCell {
  current: PeerOptions;
  readonly view: LivePeerOptions;
}

const CELL = Symbol('peer options cell');
type View = LivePeerOptions & { readonly [CELL]: PeerOptionsCell };

// One accessor pair per field, shared by every view: built once from the defaults literal, so a
// field added to PeerOptions is assignable with no change here.
const ACCESSORS: PropertyDescriptorMap = Object.fromEntries(
  (Object.keys(PEER_OPTIONS_DEFAULTS) as (keyof PeerOptions)[]).map((field) => [
    field,
    {
      enumerable: true,
      configurable: false,
      get(this: View) {
        return this[CELL].current[field];
      },
      set(this: View, value: unknown) {
        const cell = this[CELL];
        cell.current = assign(cell.current, field, value);
      },
    },
  ]),
);

/**
 * A cell holding `initial` (already resolved) and a view over it whose fields can be
 * assigned one at a time. The view is non-extensible and its properties non-configurable,
 * so `Object.isFrozen(view)` is true: its shape never changes, only validated values do.
 */
export function peerOptionsCell(initial: PeerOptions): PeerOptionsCell {
  const cell = { current: initial } as { current: PeerOptions; view: LivePeerOptions };
  const view = Object.defineProperties(
    {},
    {
      ...ACCESSORS,
      [CELL]: { value: cell, enumerable: false, writable: false, configurable: false },
    },
  ) as LivePeerOptions;
  cell.view = Object.preventExtensions(view);
  return cell;
}

function assign(current: PeerOptions, field: keyof PeerOptions, value: unknown): PeerOptions {
  if (value !== undefined) return resolvePeerOptions({ [field]: value }, current);
  if (PEER_OPTIONS_DEFAULTS[field] !== undefined) {
    return invalidOption(
      `peer option ${field}`,
      `a value (it has no unset state; its default is ${defaultText(field)})`,
      value,
    );
  }
  // resolvePeerOptions treats an undefined override as "keep", so clearing rebuilds from a copy.
  return resolvePeerOptions({}, { ...current, [field]: undefined });
}

function defaultText(field: keyof PeerOptions): string {
  const value = PEER_OPTIONS_DEFAULTS[field];
  return typeof value === 'object' ? 'an object' : String(value);
}
