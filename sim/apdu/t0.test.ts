import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { buildGetResponse, T0ProcedureError, transmitWithT0Procedure } from './t0.ts';

/** A fake card answering from a script of (expected C-APDU, R-APDU) pairs. */
function scripted(pairs: Array<[string, string]>) {
  const sent: string[] = [];
  let i = 0;
  const send = async (capdu: Uint8Array): Promise<Uint8Array> => {
    const hex = toHex(capdu);
    sent.push(hex);
    const pair = pairs[i++];
    if (!pair) throw new Error(`unexpected C-APDU ${hex}`);
    expect(hex).toBe(pair[0].toLowerCase());
    return hexToBytes(pair[1]);
  };
  return { send, sent, done: () => i === pairs.length };
}

describe('transmitWithT0Procedure', () => {
  it('follows 61xx with GET RESPONSE on the basic channel (ISO class)', async () => {
    const card = scripted([
      ['80E2910006BF3E035C015A', '6112'],
      ['00C0000012', 'BF3E125A1089049032123451234512345678901235' + '9000'],
    ]);
    const r = await transmitWithT0Procedure(card.send, hexToBytes('80E2910006BF3E035C015A'));
    expect(toHex(r)).toBe('bf3e125a10890490321234512345123456789012359000');
    expect(card.done()).toBe(true);
  });

  it('concatenates several GET RESPONSE chunks (61 00 = 256)', async () => {
    const a = 'aa'.repeat(256);
    const b = 'bb'.repeat(256);
    const c = 'cc'.repeat(0xbc);
    const card = scripted([
      ['81E2910003BF2D0000', a + '6100'],
      ['01C0000000', b + '61BC'],
      ['01C00000BC', c + '9000'],
    ]);
    const r = await transmitWithT0Procedure(card.send, hexToBytes('81E2910003BF2D0000'));
    expect(r.length).toBe(700 + 2);
    expect(toHex(r)).toBe(a + b + c + '9000');
  });

  it('resends with Le = SW2 after 6Cxx', async () => {
    const card = scripted([
      ['00B0000020', '6C0A'],
      ['00B000000A', '98001032547698103214' + '9000'],
    ]);
    const r = await transmitWithT0Procedure(card.send, hexToBytes('00B0000020'));
    expect(toHex(r)).toBe('980010325476981032149000');
  });

  it('handles 6Cxx answered to a GET RESPONSE', async () => {
    const card = scripted([
      ['00A40004023F00', '6120'],
      ['00C0000020', '6C1C'],
      ['00C000001C', '621A' + '00'.repeat(26) + '9000'],
    ]);
    const r = await transmitWithT0Procedure(card.send, hexToBytes('00A40004023F00'));
    expect(r.length).toBe(28 + 2);
  });

  it('uses the configured GET RESPONSE class with the channel bits (lpac: 80|ch)', async () => {
    const card = scripted([
      ['82E2910003BF2E00', '6112'],
      ['82C0000012', '00'.repeat(0x12) + '9000'],
    ]);
    await transmitWithT0Procedure(card.send, hexToBytes('82E2910003BF2E00'), { getResponseClass: 0x80 });
    const card5 = scripted([
      ['C1E2910003BF2E00', '6104'],
      ['41C0000004', '01020304' + '9000'],
    ]);
    expect(toHex(await transmitWithT0Procedure(card5.send, hexToBytes('C1E2910003BF2E00')))).toBe('010203049000');
    expect(toHex(buildGetResponse(19, 256, 0x80))).toBe('cfc0000000');
  });

  it('returns error SWs as they are', async () => {
    const card = scripted([['00A40004022FE2', '6A82']]);
    expect(toHex(await transmitWithT0Procedure(card.send, hexToBytes('00A40004022FE2')))).toBe('6a82');
  });

  it('sends malformed commands unchanged (the card answers 6700)', async () => {
    const card = scripted([['00A4', '6700']]);
    expect(toHex(await transmitWithT0Procedure(card.send, hexToBytes('00A4')))).toBe('6700');
  });

  it('gives up after maxExchanges', async () => {
    const send = async (): Promise<Uint8Array> => hexToBytes('6101');
    await expect(transmitWithT0Procedure(send, hexToBytes('00A4000C023F00'), { maxExchanges: 5 })).rejects.toThrow(T0ProcedureError);
  });
});
