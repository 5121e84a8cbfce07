import { describe, expect, it } from 'vitest';
import { CharDeviceStream } from './fd-duplex.ts';
import { type ByteModem, servePty, startPtyEndpoint } from './pty-endpoint.ts';
import { missingTools } from './testing/external-tool.ts';

/** answers every chunk with its bytes reversed */
function mirror(): ByteModem & { got: number[] } {
  let sink: (b: Uint8Array) => void = () => {};
  const got: number[] = [];
  return {
    got,
    receive: (b) => {
      got.push(...b);
      sink(Uint8Array.from(b).reverse());
    },
    attach: (s) => (sink = s),
    close: async () => {},
  };
}

describe.skipIf(missingTools([{ program: 'socat', pkg: 'socat' }]) !== null)('CharDeviceStream on a PTY', () => {
  it('writes one buffer per write() and reads what the other side sends', async () => {
    const modem = mirror();
    const pty = await servePty(modem);
    const s = await CharDeviceStream.open(pty.path);
    try {
      const reply = new Promise<Buffer>((resolve) => s.once('data', (c: Buffer) => resolve(c)));
      s.write(Buffer.from([1, 2, 3, 4]));
      expect([...(await reply)]).toEqual([4, 3, 2, 1]);
      expect(modem.got).toEqual([1, 2, 3, 4]);
    } finally {
      s.destroy();
      await pty.close();
    }
  });

  it('ends when the far side of the PTY goes away (EIO)', async () => {
    const endpoint = await startPtyEndpoint({ onData: () => {} });
    const s = await CharDeviceStream.open(endpoint.path);
    const ended = new Promise<string>((resolve) => {
      s.on('end', () => resolve('end'));
      s.on('error', (e: Error) => resolve(`error ${e.message}`));
    });
    s.resume();
    await endpoint.close();
    expect(await ended).toBe('end');
    s.destroy();
  });

  it('refuses bad poll settings and a missing device', async () => {
    await expect(CharDeviceStream.open('/dev/null', { pollMinMs: 0 })).rejects.toThrow('need 0 < pollMinMs <= pollMaxMs');
    await expect(CharDeviceStream.open('/nonexistent/cdc-wdm9')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
