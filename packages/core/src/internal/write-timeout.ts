import type { Socket } from 'node:net';
import { LbError } from '../errors.js';

/**
 * Pingora's per-write timeout: once a write is refused (the socket buffer is full) the peer
 * has `ms` to drain it, or the connection is destroyed with `LB_ERR_UPSTREAM_TIMEOUT`.
 */
export function watchWrites(socket: Socket, ms: number, id: string): void {
  let timer: NodeJS.Timeout | undefined;
  const write = socket.write;
  socket.write = function patchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    const ok = write.apply(this, args);
    if (!ok && timer === undefined) {
      timer = setTimeout(() => {
        socket.destroy(new LbError('LB_ERR_UPSTREAM_TIMEOUT', `writing to ${id} exceeded writeTimeout (${ms} ms)`));
      }, ms);
    }
    return ok;
  } as Socket['write'];
  const clear = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  socket.on('drain', clear);
  socket.once('close', clear);
}
