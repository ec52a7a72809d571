const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isLws = (b: number): boolean => b === 0x20 || b === 0x09;

/**
 * The first value of a comma-separated header, as HAProxy's `hdr()` sample and
 * `balance hdr(name)` take it: the bytes before the first comma that is not inside
 * a double-quoted string (a backslash escapes the next byte inside quotes), without
 * surrounding spaces or tabs. Use it to turn a raw header value into the key
 * {@link haproxyHash} must hash to agree with HAProxy. Returns a view, not a copy.
 */
export function haproxyFirstValue(value: Uint8Array): Uint8Array {
  let quoted = false;
  let escaped = false;
  let end = value.length;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (escaped) escaped = false;
    else if (quoted) {
      if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) quoted = false;
    } else if (b === QUOTE) quoted = true;
    else if (b === COMMA) {
      end = i;
      break;
    }
  }
  let start = 0;
  while (start < end && isLws(value[start]!)) start++;
  while (end > start && isLws(value[end - 1]!)) end--;
  return value.subarray(start, end);
}
