import { type Backend, backend } from '@switchyard/core';
import fc from 'fast-check';

/** Bounds on generated weights (integers ≥ 1). */
export interface WeightConstraints {
  /** @defaultValue 1 */
  readonly min?: number;
  /** @defaultValue 8 */
  readonly max?: number;
}

/** What {@link arbBackend} generates. */
export interface BackendConstraints {
  /** Weight range. @defaultValue `{ min: 1, max: 8 }` */
  readonly weights?: WeightConstraints;
  /** Address kinds to mix. @defaultValue `['ipv4', 'ipv6', 'name']` */
  readonly kinds?: readonly ('ipv4' | 'ipv6' | 'name')[];
}

/** What {@link arbBackends} generates: {@link BackendConstraints} plus a size range. */
export interface BackendsConstraints extends BackendConstraints {
  /** Fewest backends. @defaultValue 1 */
  readonly min?: number;
  /** Most backends. @defaultValue 16 */
  readonly max?: number;
}

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);

function hostArbitrary(kinds: readonly ('ipv4' | 'ipv6' | 'name')[]): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [];
  if (kinds.includes('ipv4')) options.push(fc.ipV4());
  if (kinds.includes('ipv6')) options.push(fc.ipV6().map((ip) => `[${ip}]`));
  if (kinds.includes('name')) options.push(fc.tuple(label, label).map(([a, b]) => `${a}.${b}.internal`));
  if (options.length === 0) throw new RangeError('arbBackend kinds: expected at least one of ipv4, ipv6, name');
  return fc.oneof(...options);
}

/**
 * One {@link Backend} built with core's `backend()`: an IPv4, IPv6 or host-name
 * address, a port in 1–65535 and a weight in the given range.
 */
export function arbBackend(constraints: BackendConstraints = {}): fc.Arbitrary<Backend> {
  const weight = fc.integer({ min: constraints.weights?.min ?? 1, max: constraints.weights?.max ?? 8 });
  const host = hostArbitrary(constraints.kinds ?? ['ipv4', 'ipv6', 'name']);
  return fc.tuple(host, fc.integer({ min: 1, max: 65535 }), weight).map(([h, port, w]) => backend(`${h}:${port}`, w));
}

/** A list of backends with distinct ids, in arbitrary order, `min`–`max` long. */
export function arbBackends(constraints: BackendsConstraints = {}): fc.Arbitrary<Backend[]> {
  return fc.uniqueArray(arbBackend(constraints), {
    minLength: constraints.min ?? 1,
    maxLength: constraints.max ?? 16,
    selector: (b) => b.id,
  });
}

/** A selection key: a full-Unicode string (hashed as UTF-8) or raw bytes. */
export function arbKey(): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.uint8Array({ maxLength: 64 }));
}
