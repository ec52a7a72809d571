import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

function onUpgradeResponseFinish(this: ServerResponse): void {
  this.socket?.end();
}

/**
 * Wires the ServerResponse made for an `upgrade` event to its raw socket: a response the proxy
 * writes itself (an error) goes out on that socket, which is then ended.
 */
export function upgradeResponse(res: ServerResponse, socket: Socket): void {
  res.assignSocket(socket);
  res.shouldKeepAlive = false;
  res.on('finish', onUpgradeResponseFinish);
}

/**
 * Completes an upgrade: writes the upstream's 101 head to the client, sends the bytes the
 * client had already sent after its request head (`head`), then pipes both ways. Either side
 * closing or failing destroys the other. Both sockets are kept in `tunnels` while open so a
 * server close can cut them at its deadline.
 */
export function openTunnel(
  tunnels: Set<Duplex>,
  downstream: Socket,
  upstream: Duplex,
  status: number,
  headers: readonly string[],
  head: Buffer | undefined,
): void {
  let text = `HTTP/1.1 ${status} Switching Protocols\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  text += '\r\n';
  tunnels.add(downstream);
  tunnels.add(upstream);
  const teardown = () => {
    tunnels.delete(downstream);
    tunnels.delete(upstream);
    downstream.destroy();
    upstream.destroy();
  };
  downstream.on('error', teardown).on('close', teardown);
  upstream.on('error', teardown).on('close', teardown);
  downstream.setTimeout(0);
  if (upstream instanceof Socket) upstream.setTimeout(0);
  downstream.write(text);
  if (head !== undefined && head.length > 0) upstream.write(head);
  upstream.pipe(downstream);
  downstream.pipe(upstream);
}
