import { applyUpstreamRequestPolicy, finalizeUpstreamFraming, HOP_BY_HOP_HEADERS } from '@switchyard/core';
import { bench, describe } from 'vitest';

// Request heads as Node's req.rawHeaders delivers them.
// biome-ignore format: one name/value pair per line
const browser = [
  'Host', 'app.example.com',
  'Connection', 'keep-alive',
  'Cache-Control', 'max-age=0',
  'sec-ch-ua', '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile', '?0',
  'sec-ch-ua-platform', '"Linux"',
  'Upgrade-Insecure-Requests', '1',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Sec-Fetch-Site', 'none',
  'Sec-Fetch-Mode', 'navigate',
  'Sec-Fetch-User', '?1',
  'Sec-Fetch-Dest', 'document',
  'Accept-Encoding', 'gzip, deflate, br, zstd',
  'Accept-Language', 'en-US,en;q=0.9',
  'Cookie', 'session=abc123; theme=dark',
];
const curl = ['Host', 'api.example.com', 'User-Agent', 'curl/8.5.0', 'Accept', '*/*'];
// biome-ignore format: one name/value pair per line
const nominating = [
  ...browser.slice(0, 2),
  'Connection', 'keep-alive, X-Private-Hop, X-Trace-Hop',
  'X-Private-Hop', 'secret',
  'X-Trace-Hop', 'abc',
  ...browser.slice(4),
];
// biome-ignore format: one name/value pair per line
const websocket = [
  'Host', 'app.example.com',
  'Connection', 'Upgrade',
  'Pragma', 'no-cache',
  'Cache-Control', 'no-cache',
  'User-Agent', 'Mozilla/5.0',
  'Upgrade', 'websocket',
  'Origin', 'https://app.example.com',
  'Sec-WebSocket-Version', '13',
  'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits',
];

// The straightforward version a user might write instead: lower-case every name, Sets, split by regex.
const HOP = new Set(HOP_BY_HOP_HEADERS);
function naive(headers: readonly string[]): string[] {
  const nominated = new Set<string>();
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'connection') {
      for (const t of headers[i + 1]!.split(/\s*,\s*/)) if (t) nominated.add(t.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    if (!HOP.has(lower) && !nominated.has(lower)) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

let sink = 0;
const head = (headers: string[]) => ({ headers, httpVersion: '1.1', hasBody: false });
const heads = { browser: head(browser), curl: head(curl), nominating: head(nominating), websocket: head(websocket) };

describe('upstream request policy, one request head per op', () => {
  for (const [name, h] of Object.entries(heads)) {
    bench(`standard(): ${name} (${h.headers.length / 2} headers)`, () => {
      sink += applyUpstreamRequestPolicy(h).headers.length;
    });
    bench(`naive Set/toLowerCase strip: ${name}`, () => {
      sink += naive(h.headers).length;
    });
  }
  bench('finalizeUpstreamFraming: browser, body without framing', () => {
    sink += finalizeUpstreamFraming(browser, true).length;
  });
});

export { sink };
