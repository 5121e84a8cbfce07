import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { keepQuickAck, quickAck } from './quickack.ts';

const q = quickAck();

describe('TCP_QUICKACK on the vpcd socket', () => {
  const open: (Socket | Server)[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) 'destroy' in s ? s.destroy() : s.close();
  });

  it.skipIf(!q.available)('arms a connected loopback socket and keeps a re-arm for every read', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      const srv = createServer(resolve).listen(0, '127.0.0.1', () => open.push(connect((srv.address() as { port: number }).port, '127.0.0.1')));
      open.push(srv);
    });
    const socket = await accepted;
    open.push(socket);
    const before = socket.listenerCount('data');
    const rearm = keepQuickAck(socket, q);
    expect(rearm).toBeTypeOf('function');
    expect(socket.listenerCount('data')).toBe(before + 1);
    expect(q.arm(socket)).toBe(true);
  });

  it('says why when it cannot, and never arms a socket it cannot reach', () => {
    const none = { available: false, reason: 'test', arm: () => false };
    expect(keepQuickAck({} as Socket, none)).toBeUndefined();
    if (!q.available) expect(q.reason).toMatch(/koffi|Linux|setsockopt/);
  });
});
