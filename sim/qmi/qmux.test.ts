import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { decodeQmi, encodeQmi, QMI_SERVICE, QmuxFormatError, QmuxFramer, type QmiMessage, readResult, responseTo, tlv } from './qmux.ts';

// the CTL Allocate CID request for UIM that qmicli 1.32 writes first (captured on a PTY)
const ALLOCATE_UIM = '010f00000000000122000400010100' + '0b';

describe('QMUX codec', () => {
  it('decodes the CTL Allocate CID request qmicli sends', () => {
    const m = decodeQmi(hexToBytes(ALLOCATE_UIM));
    expect(m).toMatchObject({ controlFlags: 0, service: QMI_SERVICE.CTL, clientId: 0, messageId: 0x0022, transactionId: 1 });
    expect(m.tlvs.map((t) => [t.type, toHex(t.value)])).toEqual([[0x01, '0b']]);
    expect(toHex(encodeQmi(m))).toBe(ALLOCATE_UIM);
  });

  it('encodes a service response with the 0x80 sender flag, response flag and result TLV', () => {
    const req: QmiMessage = { controlFlags: 0, service: QMI_SERVICE.UIM, clientId: 3, messageFlags: 0, transactionId: 0x0102, messageId: 0x003b, tlvs: [] };
    const bytes = encodeQmi(responseTo(req, 82, [tlv(0x10, [0xaa])]));
    expect(toHex(bytes)).toBe('011700800b030202013b000b00020400010052001001 00aa'.replace(/ /g, ''));
    expect(readResult(decodeQmi(bytes))).toEqual({ status: 1, error: 82 });
  });

  it('rejects frames whose lengths disagree, naming the field', () => {
    expect(() => decodeQmi(hexToBytes('011000000000000122000400010100 0b'.replace(/ /g, '')))).toThrow(/QMUX length 16 does not match the 15 bytes/);
    expect(() => decodeQmi(hexToBytes('010f00000000000122000500010100 0b'.replace(/ /g, '')))).toThrow(/QMI TLV length 5 does not match/);
    expect(() => decodeQmi(hexToBytes('020f00'))).toThrow(QmuxFormatError);
  });

  it('reassembles frames split into single bytes and joined together, skipping garbage', () => {
    const got: QmiMessage[] = [];
    const errors: string[] = [];
    const framer = new QmuxFramer((m) => got.push(m), (e) => errors.push(e.message));
    const two = hexToBytes(`ffee${ALLOCATE_UIM}${ALLOCATE_UIM}`);
    for (const b of two) framer.push(Uint8Array.of(b));
    expect(got).toHaveLength(2);
    expect(errors).toEqual(['1 byte(s) outside a QMUX frame skipped', '1 byte(s) outside a QMUX frame skipped']);
    expect(framer.discarded).toBe(2);
    expect(framer.pending).toBe(0);
  });
});
