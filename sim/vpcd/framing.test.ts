import { describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo } from 'node:net';
import { classifyCardSidePayload, encodeFrame, FrameDecoder, VpcdFrameError } from './framing.ts';
import { connectCardToVpcd, type VpcdCard } from './card-side.ts';
import { hexToBytes, toHex } from '../bytes.ts';

describe('vpcd framing', () => {
  it('frames with a 2-byte big-endian length', () => {
    expect(toHex(encodeFrame(hexToBytes('00a40400')))).toBe('000400a40400');
  });

  it('reassembles frames split and merged across TCP chunks', () => {
    const d = new FrameDecoder();
    const stream = hexToBytes('0001' + '04' + '0005' + '00a4040000' + '0001' + '02');
    expect(d.push(stream.subarray(0, 2))).toEqual([]);
    expect(d.push(stream.subarray(2, 6)).map(toHex)).toEqual(['04']);
    expect(d.pending).toBe(3);
    expect(d.push(stream.subarray(6)).map(toHex)).toEqual(['00a4040000', '02']);
  });

  it('refuses frames over the limit', () => {
    expect(() => new FrameDecoder(300).push(hexToBytes('0400'))).toThrow(VpcdFrameError);
  });

  it('classifies control messages, APDUs and junk', () => {
    expect(classifyCardSidePayload(hexToBytes('04'))).toEqual({ kind: 'control', control: 'getAtr' });
    expect(classifyCardSidePayload(hexToBytes('00'))).toEqual({ kind: 'control', control: 'powerOff' });
    expect(classifyCardSidePayload(hexToBytes('07')).kind).toBe('invalid');
    expect(classifyCardSidePayload(hexToBytes('00a4')).kind).toBe('invalid');
    expect(classifyCardSidePayload(hexToBytes('00a40400')).kind).toBe('apdu');
  });
});

describe('vpcd card side', () => {
  it('answers ATR requests, APDUs in order and 6700 for short junk over loopback', async () => {
    const events: string[] = [];
    const card: VpcdCard = {
      atr: () => hexToBytes('3b00'),
      powerOn: async () => void events.push('on'),
      powerOff: async () => void events.push('off'),
      reset: async () => (events.push('reset'), hexToBytes('3b00')),
      transmit: async (c) => {
        await new Promise((r) => setTimeout(r, c[1] === 1 ? 20 : 0));
        return hexToBytes(`${toHex(c.subarray(1, 2))}9000`);
      },
    };
    const received: Uint8Array[] = [];
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const got = new Promise<void>((resolve) => {
      server.on('connection', (s) => {
        const d = new FrameDecoder();
        s.on('data', (chunk) => {
          received.push(...d.push(chunk));
          if (received.length === 4) resolve();
        });
        s.write(Buffer.concat([encodeFrame(hexToBytes('01')), encodeFrame(hexToBytes('04')), encodeFrame(hexToBytes('00010000')), encodeFrame(hexToBytes('00020000')), encodeFrame(hexToBytes('0001'))]));
      });
    });
    const { socket } = await connectCardToVpcd(card, '127.0.0.1', port);
    await got;
    expect(received.map(toHex)).toEqual(['3b00', '019000', '029000', '6700']);
    expect(events).toEqual(['on']);
    socket.destroy();
    server.close();
    void connect;
  });
});
