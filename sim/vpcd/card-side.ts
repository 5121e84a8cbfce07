// Card side of the vpcd protocol (the role vsmartcard's vicc plays): serves one
// card to a vpcd reader, either by connecting to it (vpcd's default, pcscd listens
// on 35963) or by listening for a vpcd that connects out ("reversed" mode).
// Messages of one connection are handled strictly in order, one at a time.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { classifyCardSidePayload, encodeFrame, FrameDecoder, VpcdFrameError } from './framing.ts';

/** What a vpcd card endpoint needs from a card (the eUICC, or a bridge standing in for one). */
export interface VpcdCard {
  atr(): Uint8Array;
  powerOn(): Promise<void>;
  powerOff(): Promise<void>;
  /** warm reset; returns the ATR */
  reset(): Promise<Uint8Array>;
  transmit(capdu: Uint8Array): Promise<Uint8Array>;
}

export interface VpcdSessionEvents {
  onLog?: (line: string) => void;
}

const SW_WRONG_LENGTH = Uint8Array.of(0x67, 0x00);

/** Attach the vpcd protocol to one socket; resolves when the socket closes. */
export function serveVpcdSocket(card: VpcdCard, socket: Socket, events: VpcdSessionEvents = {}): Promise<void> {
  const decoder = new FrameDecoder();
  let chain: Promise<void> = Promise.resolve();
  const log = events.onLog ?? (() => {});
  const reply = (payload: Uint8Array) => {
    if (!socket.destroyed) socket.write(encodeFrame(payload));
  };
  const handle = async (payload: Uint8Array): Promise<void> => {
    const msg = classifyCardSidePayload(payload);
    if (msg.kind === 'control') {
      log(`vpcd control ${msg.control}`);
      if (msg.control === 'powerOn') await card.powerOn();
      else if (msg.control === 'powerOff') await card.powerOff();
      else if (msg.control === 'reset') await card.reset();
      else reply(card.atr());
    } else if (msg.kind === 'apdu') {
      reply(await card.transmit(msg.apdu));
    } else {
      log(`vpcd invalid message: ${msg.reason}`);
      if (payload.byteLength > 1) reply(SW_WRONG_LENGTH);
    }
  };
  return new Promise((resolve) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log(`vpcd framing error: ${(err as VpcdFrameError).message}; closing`);
        socket.destroy();
        return;
      }
      for (const f of frames)
        chain = chain.then(() =>
          handle(f).catch((err: unknown) => {
            log(`vpcd card error: ${(err as Error).message}; answering 6F00`);
            reply(Uint8Array.of(0x6f, 0x00));
          }),
        );
    });
    socket.on('error', (err) => log(`vpcd socket error: ${err.message}`));
    socket.on('close', () => resolve());
  });
}

/** Connect the card to a listening vpcd (pcscd with vsmartcard-vpcd). Resolves with the socket once connected. */
export function connectCardToVpcd(card: VpcdCard, host: string, port: number, events: VpcdSessionEvents = {}): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      const closed = serveVpcdSocket(card, socket, events);
      resolve({ socket, closed });
    });
  });
}

/** Listen for a vpcd reader that connects out to the card (vpcd "reversed" mode). */
export function listenCardForVpcd(card: VpcdCard, host: string, port: number, events: VpcdSessionEvents = {}): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => void serveVpcdSocket(card, socket, events));
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
