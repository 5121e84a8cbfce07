import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connectCardToVpcd, listenCardForVpcd, type VpcdCard } from '../vpcd/card-side.ts';
import { encodeFrame, FrameDecoder } from '../vpcd/framing.ts';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { encode } from '../rsp/der.ts';
import { codecs } from '../rsp/registry.ts';
import { samples } from '../rsp/testdata/samples.ts';
import { Es10Client } from './es10.ts';
import { VpcdTransportError } from './errors.ts';
import { connectVpcdReader, listenVpcdReader, type VpcdReaderTransport } from './vpcd-transport.ts';
import { cardWithIsdr, ScriptedIsdr } from './testing/fake-isdr.ts';

const ATR = hexToBytes('3B9F96803FC7828031E073FE211F574543753130136502');

/** A fake card for the card side: echoes the C-APDU header + 9000, or waits `delayMs` first. */
class FakeVpcdCard implements VpcdCard {
  readonly log: string[] = [];
  delayMs = 0;
  atr(): Uint8Array {
    return ATR;
  }
  async powerOn(): Promise<void> {
    this.log.push('on');
  }
  async powerOff(): Promise<void> {
    this.log.push('off');
  }
  async reset(): Promise<Uint8Array> {
    this.log.push('reset');
    return ATR;
  }
  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    this.log.push(toUpperHex(capdu));
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return Uint8Array.of(...capdu.subarray(0, 4), 0x90, 0x00);
  }
}

describe('vpcd reader transport: LPA connects to a listening bridge', () => {
  let card: FakeVpcdCard;
  let server: Server;
  let reader: VpcdReaderTransport;

  beforeEach(async () => {
    card = new FakeVpcdCard();
    server = await listenCardForVpcd(card, '127.0.0.1', 0);
    reader = await connectVpcdReader('127.0.0.1', (server.address() as AddressInfo).port, { commandTimeoutMs: 2000 });
  });
  afterEach(async () => {
    await reader.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('transmits C-APDUs and gets one R-APDU each; power on/off, reset (02 then 04) returns the ATR', async () => {
    await reader.powerOn();
    expect(toUpperHex(await reader.transmit(hexToBytes('80E2910006BF3E035C015A00')))).toBe('80E291009000');
    expect(await reader.reset()).toEqual(ATR);
    expect(await reader.getAtr()).toEqual(ATR);
    await reader.powerOff();
    await reader.transmit(hexToBytes('00A40400'));
    expect(card.log).toEqual(['on', '80E2910006BF3E035C015A00', 'reset', 'off', '00A40400']);
  });

  it('queues concurrent commands: one at a time, answers in order', async () => {
    card.delayMs = 20;
    const cmds = ['00010000', '00020000', '00030000', '00040000'].map(hexToBytes);
    const answers = await Promise.all(cmds.map((c) => reader.transmit(c)));
    expect(answers.map(toUpperHex)).toEqual(['000100009000', '000200009000', '000300009000', '000400009000']);
    expect(card.log).toEqual(['00010000', '00020000', '00030000', '00040000']);
  });

  it('carries a whole ES10 session to the card layer (MANAGE CHANNEL, SELECT, STORE DATA, GET RESPONSE)', async () => {
    await reader.close();
    await new Promise<void>((r) => server.close(() => r()));
    const isdr = new ScriptedIsdr().on(0xbf3e, encode(codecs['GetEuiccDataResponse']!, samples['GetEuiccDataResponse']));
    const euicc = cardWithIsdr(isdr, { case4Response: 'get-response' });
    const vpcdCard: VpcdCard = { atr: () => euicc.atr(), powerOn: () => euicc.powerOn(), powerOff: () => euicc.powerOff(), reset: () => euicc.reset(), transmit: (c) => euicc.transmit(c) };
    server = await listenCardForVpcd(vpcdCard, '127.0.0.1', 0);
    reader = await connectVpcdReader('127.0.0.1', (server.address() as AddressInfo).port);
    const es10 = await Es10Client.open(reader);
    expect(await es10.getEid()).toBe('89049032123451234512345678901235');
    await es10.close();
    expect(euicc.openChannels()).toEqual([0]);
  });
});

describe('vpcd reader transport: the bridge connects out to a listening LPA', () => {
  it('resolves when the card side connects, and closing the transport stops the listener', async () => {
    const card = new FakeVpcdCard();
    let port = 0;
    let cardSide: { socket: Socket; closed: Promise<void> } | undefined;
    const reader = await listenVpcdReader('127.0.0.1', 0, {
      onListening: (a) => {
        port = a.port;
        void connectCardToVpcd(card, '127.0.0.1', a.port).then((c) => (cardSide = c));
      },
    });
    expect(toUpperHex(await reader.transmit(hexToBytes('00B0000010')))).toBe('00B000009000');
    expect(await reader.reset()).toEqual(ATR);
    await reader.close();
    await cardSide!.closed;
    await expect(connectVpcdReader('127.0.0.1', port, { connectTimeoutMs: 2000 })).rejects.toMatchObject({ name: 'VpcdTransportError', problem: 'not-connected' });
  });

  it('gives up waiting for a card side after acceptTimeoutMs', async () => {
    await expect(listenVpcdReader('127.0.0.1', 0, { acceptTimeoutMs: 100 })).rejects.toMatchObject({ name: 'VpcdTransportError', problem: 'timeout' });
  });
});

/** A raw card side for failure cases: `onFrame` decides what happens to each frame. */
async function rawCardSide(onFrame: (payload: Uint8Array, socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const dec = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const f of dec.push(new Uint8Array(chunk))) onFrame(f, socket);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('vpcd reader transport failures', () => {
  it('times out a command without an answer, then fails later commands (default: drop the connection)', async () => {
    const side = await rawCardSide(() => undefined);
    try {
      const reader = await connectVpcdReader('127.0.0.1', side.port, { commandTimeoutMs: 150 });
      const err = await reader.transmit(hexToBytes('00A40400')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VpcdTransportError);
      expect(err).toMatchObject({ problem: 'timeout' });
      await expect(reader.transmit(hexToBytes('00A40400'))).rejects.toMatchObject({ problem: 'closed' });
      await reader.close();
    } finally {
      await side.close();
    }
  });

  it("with 'discard-late', throws away the late answer so the next command gets its own", async () => {
    let first = true;
    const side = await rawCardSide((f, socket) => {
      const answer = encodeFrame(Uint8Array.of(...f.subarray(0, 4), 0x90, 0x00));
      if (first) {
        first = false;
        setTimeout(() => socket.write(answer), 300);
      } else socket.write(answer);
    });
    try {
      const reader = await connectVpcdReader('127.0.0.1', side.port, { commandTimeoutMs: 100, afterTimeout: 'discard-late' });
      await expect(reader.transmit(hexToBytes('00010000'))).rejects.toMatchObject({ problem: 'timeout' });
      await new Promise((r) => setTimeout(r, 350));
      expect(toUpperHex(await reader.transmit(hexToBytes('00020000')))).toBe('000200009000');
      expect(reader.unexpectedFrames).toBe(0);
      await reader.close();
    } finally {
      await side.close();
    }
  });

  it('fails the pending command with a typed error when the peer closes mid-command', async () => {
    const side = await rawCardSide((_f, socket) => socket.destroy());
    try {
      const reader = await connectVpcdReader('127.0.0.1', side.port, { commandTimeoutMs: 5000 });
      const err = await reader.transmit(hexToBytes('80E2910006BF3E035C015A00')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VpcdTransportError);
      expect(err).toMatchObject({ problem: 'closed' });
      expect(reader.isOpen).toBe(false);
      await expect(reader.reset()).rejects.toMatchObject({ problem: 'closed' });
      await reader.close();
    } finally {
      await side.close();
    }
  });

  it('rejects an R-APDU frame without a status word as a protocol error', async () => {
    const side = await rawCardSide((_f, socket) => socket.write(encodeFrame(Uint8Array.of(0x90))));
    try {
      const reader = await connectVpcdReader('127.0.0.1', side.port);
      await expect(reader.transmit(hexToBytes('00A40400'))).rejects.toMatchObject({ name: 'VpcdTransportError', problem: 'protocol' });
      await reader.close();
    } finally {
      await side.close();
    }
  });
});
