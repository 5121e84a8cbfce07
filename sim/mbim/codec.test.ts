import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { buildInfo, encodeMbim, InfoReader, MBIM_MESSAGE, MBIM_PROTOCOL_ERROR, MbimFramer, type MbimFormatError, type MbimMessage, SERVICE, swToUiccStatus, uiccStatusToSw, uuidBytes } from './codec.ts';

// the OPEN mbimcli 1.28 writes first on a PTY (MaxControlTransfer 4096)
const MBIMCLI_OPEN = '01000000100000000100000000100000';

describe('MBIM codec', () => {
  it("decodes mbimcli's OPEN and encodes it back", () => {
    const got: MbimMessage[] = [];
    new MbimFramer((m) => got.push(m), (e) => { throw e; }).push(hexToBytes(MBIMCLI_OPEN));
    expect(got).toEqual([{ type: MBIM_MESSAGE.OPEN, tid: 1, maxControlTransfer: 4096 }]);
    expect(toHex(encodeMbim(got[0]!)[0]!)).toBe(MBIMCLI_OPEN);
  });

  it('writes the MS UICC service UUID in its written byte order', () => {
    expect(toHex(uuidBytes(SERVICE.MS_UICC_LOW_LEVEL_ACCESS))).toBe('c2f6588ef0374bc98665f4d44bd09367');
  });

  it('splits a long COMMAND into fragments and reassembles them from single bytes', () => {
    const m: MbimMessage = { type: MBIM_MESSAGE.COMMAND, tid: 9, service: SERVICE.MS_UICC_LOW_LEVEL_ACCESS, cid: 4, commandType: 1, buffer: new Uint8Array(150).map((_, i) => i) };
    const parts = encodeMbim(m, 64);
    expect(parts.map((p) => p.length)).toEqual([64, 64, 64, 64, 22]);
    const got: MbimMessage[] = [];
    const framer = new MbimFramer((x) => got.push(x), (e) => { throw e; });
    for (const p of parts) for (const b of p) framer.push(Uint8Array.of(b));
    expect(got).toEqual([m]);
  });

  it('reports fragments out of sequence and impossible lengths with the MBIM protocol error', () => {
    const m: MbimMessage = { type: MBIM_MESSAGE.COMMAND, tid: 3, service: SERVICE.BASIC_CONNECT, cid: 1, commandType: 0, buffer: new Uint8Array(100) };
    const [first, second, third] = encodeMbim(m, 64);
    const errors: MbimFormatError[] = [];
    const framer = new MbimFramer(() => {}, (e) => errors.push(e));
    framer.push(first!);
    framer.push(third!);
    expect(errors[0]).toMatchObject({ protocolError: MBIM_PROTOCOL_ERROR.FRAGMENT_OUT_OF_SEQUENCE, tid: 3, message: 'fragment 2/3 of transaction 3 out of sequence' });
    framer.push(second!);
    framer.push(hexToBytes('0100000004000000'));
    expect(errors.map((e) => e.message).slice(1)).toEqual(['fragment 1/3 of transaction 3 out of sequence', 'message length 4 is impossible; 8 byte(s) dropped']);
  });

  it('information buffers: (offset, size) and MS UICC (size, offset) references, padded to 4', () => {
    const info = buildInfo([{ u32: 7 }, { bytes: Uint8Array.of(1, 2, 3), order: 'size-offset' }, { string: 'A' }]);
    expect(toHex(info)).toBe('07000000' + '03000000' + '14000000' + '18000000' + '02000000' + '01020300' + '41000000');
    const r = new InfoReader(info, 'test');
    expect([r.u32(), toHex(r.bytes('size-offset')), r.string()]).toEqual([7, '010203', 'A']);
    expect(() => new InfoReader(hexToBytes('ffff000004000000'), 'bad').bytes()).toThrow('bad: reference (offset 65535, size 4) runs past the 8-byte buffer');
  });

  it('Status of UICC results: SW1 in the low byte (9000 -> 144, as ModemManager checks)', () => {
    expect(swToUiccStatus(0x9000)).toBe(144);
    expect(uiccStatusToSw(swToUiccStatus(0x6a82))).toBe(0x6a82);
  });
});
