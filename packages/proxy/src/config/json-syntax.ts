/** Where JSON text stops being valid: 1-based line and column, and what was found there. */
export interface JsonSyntaxError {
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

// JSON.parse's messages differ between Node versions, often carry no position and quote the
// text around the error (which may hold a password). This scanner finds the first offending
// character itself, so the message gives a line and column and quotes one character at most.

/** The first syntax error of `text` as JSON (RFC 8259), or `undefined` when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.whitespace();
    scanner.value(0);
    scanner.whitespace();
    if (scanner.pos < text.length) scanner.fail('expected the end of the file');
    return undefined;
  } catch (err) {
    if (!(err instanceof SyntaxFound)) throw err;
    return locate(text, scanner.pos, err.message);
  }
}

class SyntaxFound extends Error {}

/** Nesting deeper than this is reported rather than recursed into. */
const MAX_DEPTH = 1000;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(expected: string): never {
    const ch = this.text[this.pos];
    const found = ch === undefined ? 'the end of the file' : JSON.stringify(ch);
    throw new SyntaxFound(`${expected}, found ${found}`);
  }

  whitespace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] as string)) this.pos++;
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`expected at most ${MAX_DEPTH} levels of nesting`);
    const ch = this.text[this.pos];
    if (ch === '{') this.object(depth);
    else if (ch === '[') this.array(depth);
    else if (ch === '"') this.string();
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) this.number();
    else this.literal();
  }

  literal(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail('expected a value');
  }

  object(depth: number): void {
    this.pos++;
    this.whitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail('expected a "quoted" field name');
      this.string();
      this.whitespace();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      this.whitespace();
      this.value(depth + 1);
      this.whitespace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return;
      }
      if (this.text[this.pos] !== ',') this.fail('expected "," or "}"');
      this.pos++;
      this.whitespace();
    }
  }

  array(depth: number): void {
    this.pos++;
    this.whitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.whitespace();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return;
      }
      if (this.text[this.pos] !== ',') this.fail('expected "," or "]"');
      this.pos++;
      this.whitespace();
    }
  }

  string(): void {
    this.pos++;
    while (this.pos < this.text.length) {
      const ch = this.text.charCodeAt(this.pos);
      if (ch === 0x22) {
        this.pos++;
        return;
      }
      if (ch < 0x20) this.fail('expected a closing quote before the end of the line');
      if (ch === 0x5c) {
        const next = this.text[this.pos + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) {
            this.pos += 2;
            this.fail('expected 4 hex digits after \\u');
          }
          this.pos += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) {
          this.pos++;
          this.fail('expected an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
        }
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.fail('expected a closing quote');
  }

  number(): void {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (match === null) this.fail('expected a number');
    this.pos += match[0].length;
  }
}

function locate(text: string, offset: number, reason: string): JsonSyntaxError {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1, reason };
}
