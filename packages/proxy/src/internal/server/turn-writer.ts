import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { addH1Trailers } from './h1-trailers.js';
import type { ResponseOwner, ResponseWriter } from './response-writer.js';

const kOwner = Symbol('switchyard.responseOwner');

type Owned = ServerResponse & { [kOwner]?: ResponseOwner };

/** The server state a writer reads: set while the server shuts down. */
interface ServerFlags {
  readonly closing: boolean;
}

/**
 * Body bytes a response may hold back within a turn so that, when it completes in that turn,
 * head and body leave in one string write (one syscall, no writev, no allocation: Node writes
 * strings up to 16 KiB from stack storage). Larger or longer responses stream as they come.
 */
const HOLD_LIMIT = 8192;

/** Writers whose socket writes wait for the end of this event-loop turn (see {@link flushTurn}). */
let heldThisTurn: TurnWriter[] = [];

/**
 * Writes the responses of this event-loop turn back to back. One upstream read can complete
 * many responses in a turn; written one by one between parser callbacks, each write wakes a
 * client that went back to sleep after the previous one (on loopback and VMs a wake-up is an
 * inter-processor interrupt, the largest single cost per request). Written together, the
 * client wakes once per turn.
 */
function flushTurn(): void {
  const batch = heldThisTurn;
  heldThisTurn = [];
  for (let i = 0; i < batch.length; i++) (batch[i] as TurnWriter).endTurn();
}

// Listeners shared by every response: `this` is the emitter, the owner hangs off it, so no
// closure is allocated per request.
function onResponseClose(this: Owned): void {
  this[kOwner]?.downstreamClosed();
}
function onResponseDrain(this: Owned): void {
  this[kOwner]?.resumeUpstream();
}

/**
 * The HTTP/1.1 {@link ResponseWriter} over a `node:http` response, which batches socket writes
 * per event-loop turn: a response that starts in a turn holds its writes until the turn ends,
 * so every response completed in one turn leaves back to back, and a small one (head and at
 * most {@link HOLD_LIMIT} body bytes) leaves as one write.
 */
export class TurnWriter implements ResponseWriter {
  readonly #response: ServerResponse;
  /** Kept: `response.socket` is null once the response has finished. */
  readonly #socket: Socket;
  readonly #owner: ResponseOwner;
  readonly #server: ServerFlags;
  #drainWatched = false;
  /** Writes wait for the end of this turn (the writer is in {@link heldThisTurn}). */
  #inTurn = false;
  /**
   * Body held back this turn, at most {@link HOLD_LIMIT} bytes, not yet given to the response:
   * one chunk as itself (the common case, no array allocated), several in an array.
   */
  #held: Buffer | Buffer[] | undefined;
  #heldBytes = 0;
  /** The downstream socket is corked until the end of this turn (a body streaming past the hold). */
  #corked = false;
  /** The body completed this turn: `end()` is due at the end of the turn. */
  #endDue = false;

  /**
   * Watches `response` for close and drain on behalf of `owner`. While `server.closing`, a
   * response head asks the client to close the connection.
   */
  constructor(response: ServerResponse, socket: Socket, owner: ResponseOwner, server: ServerFlags) {
    this.#response = response;
    this.#socket = socket;
    this.#owner = owner;
    this.#server = server;
    (response as Owned)[kOwner] = owner;
    response.on('close', onResponseClose);
  }

  head(status: number, headers: string[]): void {
    const res = this.#response;
    if (this.#server.closing) res.shouldKeepAlive = false;
    // writeHead only formats the head; it is written with the first body bytes or `end()`.
    this.#joinTurn();
    res.writeHead(status, headers);
  }

  chunk(data: Buffer): boolean {
    if (this.#inTurn && !this.#corked && this.#heldBytes + data.length <= HOLD_LIMIT) {
      const held = this.#held;
      if (held === undefined) this.#held = data;
      else if (Array.isArray(held)) held.push(data);
      else this.#held = [held, data];
      this.#heldBytes += data.length;
      return true;
    }
    this.#corkTurn();
    return this.#write(data);
  }

  end(trailers?: readonly string[]): void {
    if (trailers !== undefined) addH1Trailers(this.#response, trailers);
    if (this.#inTurn) {
      this.#endDue = true;
      return;
    }
    this.#response.end();
    this.#owner.responseEnded();
  }

  cut(): void {
    this.#response.destroy();
  }

  /**
   * End of the turn: what was held goes out, and a completed response ends. A small response
   * completed in the turn leaves as one write: Node prepends the head to a latin1 string body
   * (latin1 maps bytes to characters one to one, so the bytes are unchanged).
   */
  endTurn(): void {
    this.#inTurn = false;
    const held = this.#held;
    const heldBytes = this.#heldBytes;
    this.#held = undefined;
    this.#heldBytes = 0;
    const endDue = this.#endDue;
    this.#endDue = false;
    const finished = this.#owner.finished;
    if (this.#corked) {
      this.#corked = false;
      // end() uncorks the socket fully.
      if (!endDue || finished) this.#socket.uncork();
    }
    if (finished) return;
    if (held !== undefined) {
      const body = Array.isArray(held) ? Buffer.concat(held, heldBytes) : held;
      if (endDue) this.#writeWhole(body);
      else this.#write(body);
    }
    if (!endDue) return;
    this.#response.end();
    this.#owner.responseEnded();
  }

  #joinTurn(): void {
    if (this.#inTurn) return;
    this.#inTurn = true;
    if (heldThisTurn.length === 0) setImmediate(flushTurn);
    heldThisTurn.push(this);
  }

  /**
   * A body past the hold (too large, or arriving in a later turn than its head): cork the socket
   * for the rest of the turn and write what was held first.
   */
  #corkTurn(): void {
    this.#joinTurn();
    if (this.#corked) return;
    const socket = this.#socket;
    if (socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    this.#heldBytes = 0;
    if (!Array.isArray(held)) this.#write(held);
    else for (let i = 0; i < held.length; i++) this.#write(held[i] as Buffer);
  }

  /**
   * Head and whole body as one string in one write. Corked by us, Node neither corks the socket
   * itself (it would uncork on the next tick) nor adds the empty write `end()` makes while data is
   * pending, so one buffered chunk leaves as one `write`, not a `writev`.
   */
  #writeWhole(body: Buffer): void {
    const socket = this.#socket;
    socket.cork();
    this.#response.write(body.toString('latin1'), 'latin1');
    socket.uncork();
  }

  #write(chunk: Buffer): boolean {
    const ok = this.#response.write(chunk);
    if (!ok && !this.#drainWatched) {
      this.#drainWatched = true;
      this.#response.on('drain', onResponseDrain);
    }
    return ok;
  }
}
