import { invalidOption, LbError } from './errors.js';
import { equalsLowerAt } from './raw-headers.js';

/**
 * How HTTP/1.1 `Upgrade` requests are treated by the upstream request policy.
 * - `'websocket-only'`: forward WebSocket handshakes (HTTP/1.1, `Upgrade: websocket`) with the
 *   normalized `Connection: Upgrade` / `Upgrade: websocket`; drop every other upgrade.
 * - `'preserve'`: forward any upgrade request untouched (nominated fields included).
 * - `'deny'`: never forward `Connection`, `Upgrade` or `HTTP2-Settings`.
 */
export type H1UpgradePolicy = 'websocket-only' | 'preserve' | 'deny';

/**
 * Which request headers reach the upstream, as Pingora's `HttpUpstreamRequestPolicy`.
 * Build one with {@link standard}, {@link preserve} or {@link denyUpgrades}.
 */
export interface UpstreamRequestPolicy {
  /** Remove the ten standard hop-by-hop fields. @defaultValue true */
  readonly stripHopByHop: boolean;
  /** Remove the fields the `Connection` header nominates. @defaultValue true */
  readonly stripConnectionNominated: boolean;
  /** Reject a `Connection` token that is not an RFC 9110 token (strict); false skips it (lenient). @defaultValue true */
  readonly rejectMalformedConnectionNominations: boolean;
  /** What to do with HTTP/1.1 upgrades. @defaultValue `'websocket-only'` */
  readonly h1Upgrade: H1UpgradePolicy;
}

const STANDARD: UpstreamRequestPolicy = Object.freeze({
  stripHopByHop: true,
  stripConnectionNominated: true,
  rejectMalformedConnectionNominations: true,
  h1Upgrade: 'websocket-only',
});

const PRESERVE: UpstreamRequestPolicy = Object.freeze({
  stripHopByHop: false,
  stripConnectionNominated: false,
  rejectMalformedConnectionNominations: false,
  h1Upgrade: 'preserve',
});

const DENY_UPGRADES: UpstreamRequestPolicy = Object.freeze({ ...STANDARD, h1Upgrade: 'deny' });

/** The default, RFC 9110-compliant policy: strip hop-by-hop and nominated fields, strict tokens, WebSocket-only upgrades. */
export function standard(): UpstreamRequestPolicy {
  return STANDARD;
}

/**
 * Forward every header as received, with no validation. RFC-non-compliant: hop-by-hop
 * fields (including `Proxy-Authorization`) reach the upstream. Use at your own risk.
 */
export function preserve(): UpstreamRequestPolicy {
  return PRESERVE;
}

/** Like {@link standard}, but no upgrade (not even WebSocket) is forwarded. */
export function denyUpgrades(): UpstreamRequestPolicy {
  return DENY_UPGRADES;
}

/** A downstream HTTP/1.x request head, in the shape Node's `http.IncomingMessage` exposes. */
export interface UpstreamRequestHead {
  /** Raw header pairs, flat (`[name0, value0, name1, value1, …]`), original casing and order, as `req.rawHeaders`. */
  readonly headers: readonly string[];
  /** `req.httpVersion`, e.g. `'1.1'` or `'1.0'`. Only `'1.1'` requests can upgrade. */
  readonly httpVersion: string;
  /**
   * Whether the downstream request has a body. The policy itself does not look at it (as in
   * Pingora, framing is fixed afterwards); it travels with the head for {@link finalizeUpstreamFraming}.
   */
  readonly hasBody: boolean;
}

/** What {@link applyUpstreamRequestPolicy} forwards. */
export interface UpstreamRequestPolicyResult {
  /** The header pairs to send upstream, flat, surviving fields in their original casing and order. A new array. */
  readonly headers: string[];
  /**
   * `'websocket'`: a WebSocket handshake, forwarded with the normalized `Connection: Upgrade` /
   * `Upgrade: websocket` (appended last). `'preserved'`: an HTTP/1.1 upgrade forwarded untouched
   * (`h1Upgrade: 'preserve'` or {@link preserve}()). `undefined`: not an upgrade.
   */
  readonly upgrade: 'websocket' | 'preserved' | undefined;
}

/** Pingora's `MAX_CONNECTION_NOMINATIONS`: a request whose `Connection` carries this many tokens or more is rejected. */
export const MAX_CONNECTION_NOMINATIONS = 10;

/** The ten hop-by-hop fields {@link UpstreamRequestPolicy.stripHopByHop} removes (Pingora's standard set), lower-case. */
export const HOP_BY_HOP_HEADERS: readonly string[] = Object.freeze([
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'connection',
  'upgrade',
  'http2-settings',
]);

/** Fields a `Connection` header may never nominate (plus any `:`-prefixed name), lower-case. */
export const PROTECTED_NOMINATIONS: readonly string[] = Object.freeze([
  'host',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

// Field kinds as bits, so one lookup answers "hop-by-hop?", "upgrade field?", "framing?" at once.
const HOP = 1;
const CONNECTION = 2;
const UPGRADE = 4;
const HTTP2_SETTINGS = 8;
const TRANSFER_ENCODING = 16;
const CONTENT_LENGTH = 32;
const PROTECTED = 64;
const UPGRADE_FIELDS = CONNECTION | UPGRADE | HTTP2_SETTINGS;
const FRAMING = CONTENT_LENGTH | TRANSFER_ENCODING;

const KINDS: Record<string, number> = {
  connection: HOP | CONNECTION,
  upgrade: HOP | UPGRADE,
  'http2-settings': HOP | HTTP2_SETTINGS,
  'transfer-encoding': HOP | TRANSFER_ENCODING,
  'content-length': CONTENT_LENGTH,
};
for (const name of HOP_BY_HOP_HEADERS) KINDS[name] ??= HOP;
for (const name of PROTECTED_NOMINATIONS) KINDS[name] = PROTECTED;

// Known names bucketed by length: most header names are rejected by one array read, the rest
// by a first-byte mismatch. No lower-casing, no regex, no allocation per header.
const LONGEST = Math.max(...Object.keys(KINDS).map((name) => name.length));
const BY_LENGTH: (readonly (readonly [string, number])[] | undefined)[] = Array.from(
  { length: LONGEST + 1 },
  () => undefined,
);
for (const [name, kind] of Object.entries(KINDS)) {
  BY_LENGTH[name.length] = [...(BY_LENGTH[name.length] ?? []), [name, kind] as const];
}

// RFC 9110 §5.6.2 tchar: ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
const TCHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch) || "!#$%&'*+-.^_`|~".includes(ch)) TCHAR[c] = 1;
}

/** The kind bits of the name `s.slice(start, start + length)`, without slicing. */
function kindAt(s: string, start: number, length: number): number {
  if (length > LONGEST) return 0;
  const bucket = BY_LENGTH[length];
  if (bucket === undefined) return 0;
  for (let i = 0; i < bucket.length; i++) {
    const entry = bucket[i]!;
    if (equalsLowerAt(s, start, entry[0])) return entry[1];
  }
  return 0;
}

function kindOf(name: string): number {
  return kindAt(name, 0, name.length);
}

// Kinds of the current request's headers, so the second pass does not classify again. Reused
// across calls (the policy functions are synchronous, so there is never more than one user).
let kindsScratch = new Uint8Array(64);

// Rust's `trim_ascii`: space, tab, LF, form feed, CR (not the Unicode spaces `String#trim` removes).
function isAsciiSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

function badRequest(reason: string): never {
  throw new LbError('LB_ERR_BAD_REQUEST', reason);
}

/**
 * Parses one `Connection` value into `nominated` (lower-case names still to strip), counting
 * every non-empty token; returns `counted` plus the tokens of this value. Throws on the rules of Pingora's `ConnectionNominations::parse`.
 */
function parseConnectionValue(
  value: string,
  strict: boolean,
  alreadyStripped: number,
  counted: number,
  nominated: string[],
): number {
  let count = counted;
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    let a = start;
    let b = end;
    start = end + 1;
    while (a < b && isAsciiSpace(value.charCodeAt(a))) a++;
    while (b > a && isAsciiSpace(value.charCodeAt(b - 1))) b--;
    if (a === b) continue;
    if (++count >= MAX_CONNECTION_NOMINATIONS) badRequest('too many Connection header nominations');
    if (value.charCodeAt(a) === 58) badRequest('protected header cannot be nominated by the Connection header');
    let valid = true;
    for (let i = a; i < b; i++) {
      const c = value.charCodeAt(i);
      if (c >= 128 || TCHAR[c] === 0) {
        valid = false;
        break;
      }
    }
    if (!valid) {
      if (strict) badRequest('invalid token nominated by the Connection header');
      continue; // lenient: skipped, but it has been counted
    }
    const kind = kindAt(value, a, b - a);
    if (kind & PROTECTED) {
      badRequest(`protected header ${value.slice(a, b).toLowerCase()} cannot be nominated by the Connection header`);
    }
    // A name the later steps remove anyway needs no per-header comparison.
    if ((kind & alreadyStripped) === 0) nominated.push(value.slice(a, b).toLowerCase());
  }
  return count;
}

function isNominated(name: string, nominated: readonly string[]): boolean {
  for (let i = 0; i < nominated.length; i++) {
    const lower = nominated[i]!;
    if (lower.length === name.length && equalsLowerAt(name, 0, lower)) return true;
  }
  return false;
}

function isPreserve(policy: UpstreamRequestPolicy): boolean {
  return (
    policy === PRESERVE ||
    (policy.h1Upgrade === 'preserve' &&
      !policy.stripHopByHop &&
      !policy.stripConnectionNominated &&
      !policy.rejectMalformedConnectionNominations)
  );
}

/**
 * Applies `policy` to a downstream HTTP/1.x request head, as Pingora's `sanitize_h1_upstream_request`:
 *
 * 1. A policy equal to {@link preserve}() returns the headers unchanged, without any validation.
 * 2. If `stripConnectionNominated`, every `Connection` value is split on `,`, tokens trimmed, empty
 *    ones skipped. Every token counts; the 10th throws. A token starting with `:` or naming `Host`,
 *    `X-Forwarded-For`, `X-Forwarded-Host` or `X-Forwarded-Proto` (any case) throws. A token that is
 *    not an RFC 9110 token throws when `rejectMalformedConnectionNominations`, else is skipped.
 * 3. `h1Upgrade: 'preserve'` and an `Upgrade` header: the headers are returned unchanged.
 * 4. A WebSocket handshake is `h1Upgrade: 'websocket-only'`, HTTP/1.1 and a first `Upgrade` value
 *    equal to `websocket` (ASCII case-insensitive); `Connection: upgrade` is not required.
 * 5. Nominated fields are removed (the `Connection` header itself only if nominated or by 6–7).
 * 6. If `stripHopByHop`, the ten {@link HOP_BY_HOP_HEADERS} are removed.
 * 7. Unless `h1Upgrade` is `'preserve'`, `Connection`, `Upgrade` and `HTTP2-Settings` are removed;
 *    a WebSocket handshake then gets `Connection: Upgrade` and `Upgrade: websocket` appended.
 *    `Sec-WebSocket-*` fields stay unless nominated.
 *
 * Names match ASCII case-insensitively; surviving fields keep their casing and order. Call
 * {@link finalizeUpstreamFraming} afterwards: `standard()` removes `Transfer-Encoding`.
 *
 * Cost: O(number of headers). Each name is classified once (a length-indexed table, then a
 * case-insensitive byte compare; no regex, no lower-casing, no per-header allocation) into a
 * reused buffer; the output is one copy of the array, compacted in place. Each non-hop-by-hop
 * nomination costs one substring and a length compare per header. Measured (CPU time, Node 20):
 * about 0.35 µs for a 16-header browser request and 0.05 µs for 3 headers, roughly a half to a
 * third of a `toLowerCase` + `Set` version; see `packages/core/bench/upstream-request-policy.bench.ts`.
 *
 * @param policy - @defaultValue {@link standard}()
 * @throws LbError `LB_ERR_BAD_REQUEST` (the proxy answers 400 with the message) for the rejections of
 *   step 2; `LB_ERR_INVALID_OPTION` if `head.headers` has an odd length.
 */
export function applyUpstreamRequestPolicy(
  head: UpstreamRequestHead,
  policy: UpstreamRequestPolicy = STANDARD,
): UpstreamRequestPolicyResult {
  const { headers, httpVersion } = head;
  const n = headers.length;
  if (n % 2 !== 0) invalidOption('request head headers', 'flat name/value pairs (an even length)', n);
  const http11 = httpVersion === '1.1';
  const preserveUpgrades = policy.h1Upgrade === 'preserve';

  if (isPreserve(policy)) {
    let upgrade = false;
    for (let i = 0; i < n && !upgrade; i += 2) upgrade = (kindOf(headers[i]!) & UPGRADE) !== 0;
    return { headers: headers.slice(), upgrade: upgrade && http11 ? 'preserved' : undefined };
  }

  const stripMask = (policy.stripHopByHop ? HOP : 0) | (preserveUpgrades ? 0 : UPGRADE_FIELDS);
  const strict = policy.rejectMalformedConnectionNominations;
  const nominated: string[] = [];
  let count = 0;
  let present = 0;
  let upgradeValue: string | undefined;
  if (kindsScratch.length < n / 2) kindsScratch = new Uint8Array(n);
  const kinds = kindsScratch;
  for (let i = 0; i < n; i += 2) {
    const kind = kindOf(headers[i]!);
    kinds[i >> 1] = kind;
    if (kind === 0) continue;
    present |= kind;
    if (kind & CONNECTION && policy.stripConnectionNominated) {
      count = parseConnectionValue(headers[i + 1]!, strict, stripMask, count, nominated);
    } else if (kind & UPGRADE && upgradeValue === undefined) {
      upgradeValue = headers[i + 1]!;
    }
  }

  if (preserveUpgrades && present & UPGRADE) {
    return { headers: headers.slice(), upgrade: http11 ? 'preserved' : undefined };
  }
  const websocket = policy.h1Upgrade === 'websocket-only' && http11 && isWebSocket(upgradeValue);

  if ((present & stripMask) === 0 && nominated.length === 0) {
    return { headers: headers.slice(), upgrade: undefined };
  }
  // Copy once, then compact in place: cheaper than growing a new array pair by pair.
  const out = headers.slice();
  let kept = 0;
  for (let i = 0; i < n; i += 2) {
    const name = out[i]!;
    if (kinds[i >> 1]! & stripMask) continue;
    if (nominated.length > 0 && isNominated(name, nominated)) continue;
    if (kept !== i) {
      out[kept] = name;
      out[kept + 1] = out[i + 1]!;
    }
    kept += 2;
  }
  out.length = kept;
  if (websocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  return { headers: out, upgrade: websocket ? 'websocket' : undefined };
}

// The first `Upgrade` value, ignoring surrounding optional whitespace (RFC 9110 OWS), equals "websocket".
function isWebSocket(value: string | undefined): boolean {
  if (value === undefined) return false;
  let a = 0;
  let b = value.length;
  while (a < b && (value.charCodeAt(a) === 32 || value.charCodeAt(a) === 9)) a++;
  while (b > a && (value.charCodeAt(b - 1) === 32 || value.charCodeAt(b - 1) === 9)) b--;
  return b - a === 9 && equalsLowerAt(value, a, 'websocket');
}

/**
 * Pingora's `finalize_h1_upstream_request_framing`, run after any request filter: when the
 * request has a body and its headers carry neither `Content-Length` nor `Transfer-Encoding`
 * (for instance because the policy removed the hop-by-hop `Transfer-Encoding`), returns a copy
 * with `Transfer-Encoding: chunked` appended. Otherwise returns `headers` itself. Never mutates `headers`.
 */
export function finalizeUpstreamFraming(headers: string[], hasBody: boolean): string[] {
  if (!hasBody) return headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (kindOf(headers[i]!) & FRAMING) return headers;
  }
  return [...headers, 'Transfer-Encoding', 'chunked'];
}
