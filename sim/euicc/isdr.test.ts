// Channel and APDU rules of the ISD-R through the card layer: logical channels
// (ETSI TS 102 221 11.1.17), STORE DATA chaining (GlobalPlatform 11.11, SGP.22 5.7.2)
// with 120- and 255-byte blocks, 61xx / GET RESPONSE for big responses, the
// dispatch SWs (6A80 malformed, 6A88 unknown tag, 6985 BPP out of session).
import { afterEach, describe, expect, it } from 'vitest';
import { decode } from '../rsp/der.ts';
import { AuthenticateServerResponse } from '../rsp/es10b.ts';
import { segmentStoreData } from '../apdu/store-data.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { responseData, responseSw } from '../apdu/apdu.ts';
import { hexToBytes, hexToBytesSpaced, toHex } from '../bytes.ts';
import { createEuicc, type Euicc } from './euicc.ts';
import { rig, type Rig } from './testing/fixtures.ts';
import { TestLpa } from './testing/test-lpa.ts';
import { TestSmdp } from './testing/smdp-binder.ts';

const hx = hexToBytesSpaced;
const ISDR = 'A0000005591010FFFFFFFF8900000100';
const EID_RESPONSE = 'bf3e125a1089049032123451234512345678901235';

let euicc: Euicc | undefined;
let r: Rig | undefined;
afterEach(async () => {
  await euicc?.close();
  await r?.euicc.close();
  euicc = undefined;
  r = undefined;
});

async function tx(hex: string): Promise<string> {
  return toHex(await euicc!.transmit(hx(hex))).toUpperCase();
}

describe('logical channels', () => {
  it('ISD-R on the basic channel and on logical channels 1-3', async () => {
    euicc = await createEuicc();
    const basic = new TestLpa(euicc, { logicalChannel: false });
    await basic.open();
    expect(toHex(await basic.es10(hx('BF3E035C015A')))).toBe(EID_RESPONSE);
    for (const n of [1, 2, 3]) {
      const lpa = new TestLpa(euicc);
      await lpa.open();
      expect(lpa.channel).toBe(n);
      expect(toHex(await lpa.es10(hx('BF3E035C015A')))).toBe(EID_RESPONSE);
    }
    expect(euicc.isdr.calls.map((c) => c.channel)).toEqual([0, 1, 2, 3]);
    expect(await tx('0070000001')).toBe('6881');
  });

  it('channels 4-19 after TERMINAL CAPABILITY (extended logical channels): CLA 4X / CX', async () => {
    euicc = await createEuicc();
    expect(await tx('80AA000004A9028100')).toBe('9000');
    expect(await tx('00700013')).toBe('9000');
    expect((await tx(`4FA4040010${ISDR}00`)).slice(-4)).toBe('9000');
    expect(await tx('CFE2910006BF3E035C015A00')).toBe(EID_RESPONSE.toUpperCase() + '9000');
    expect(euicc.isdr.calls).toEqual([{ function: 'GetEID', channel: 19 }]);
  });

  it('STORE DATA where the ISD-R is not selected gets 6D00; an ISO class gets 6E00', async () => {
    euicc = await createEuicc();
    expect(await tx('80E2910006BF3E035C015A00')).toBe('6D00');
    expect((await tx(`00A4040010${ISDR}00`)).slice(-4)).toBe('9000');
    expect(await tx('00E2910006BF3E035C015A00')).toBe('6E00');
  });

  it('a STORE DATA chain on channel 1 survives STATUS / SELECT on the basic channel (modem polling)', async () => {
    r = await rig();
    const c = await r.lpa.challenge();
    const req = r.smdp.authenticateServerRequest(c);
    const blocks = segmentStoreData(req.der, { blockSize: 120, channel: 1 });
    const answers: string[] = [];
    for (const [i, b] of blocks.entries()) {
      const resp = await transmitWithT0Procedure((x) => r!.euicc.transmit(x), b);
      answers.push(toHex(resp.slice(-2)));
      if (i === 1) {
        expect(toHex(await r.euicc.transmit(hx('80F2000C00')))).toBe('9000');
        expect(toHex(await r.euicc.transmit(hx('00A4080C022FE2')))).toBe('9000');
      }
    }
    expect(answers.every((a) => a === '9000')).toBe(true);
  });

  it('the ECASD answers SELECT', async () => {
    euicc = await createEuicc();
    expect((await tx('00A4040010A0000005591010FFFFFFFF890000020000')).slice(-4)).toBe('9000');
  });
});

describe('STORE DATA chaining and response chaining', () => {
  it.each([120, 255])('AuthenticateServer in %i-byte blocks', async (blockSize) => {
    r = await rig({}, { blockSize });
    const c = await r.lpa.challenge();
    const req = r.smdp.authenticateServerRequest(c);
    expect(req.der.length).toBeGreaterThan(600);
    const auth = r.smdp.verifyAuthenticateResponse(req, await r.lpa.es10(req.der));
    expect(auth.eid).toBe(r.euicc.eid);
  });

  it('a response over 256 bytes: 256 bytes + 61xx, the rest by GET RESPONSE (class 00 or 80)', async () => {
    euicc = await createEuicc();
    await tx(`00A4040010${ISDR}00`);
    await tx('80E2910003BF2E0000');
    const c = hx((await tx('80E2910003BF2E0000')).slice(10, 42));
    const smdp = new TestSmdp();
    const req = smdp.authenticateServerRequest(c);
    const blocks = segmentStoreData(req.der, { blockSize: 255 });
    for (const b of blocks.slice(0, -1)) expect(toHex(await euicc.transmit(b))).toBe('9000');
    const first = await euicc.transmit(blocks[blocks.length - 1]!);
    expect(responseData(first).length).toBe(256);
    expect(responseSw(first) >> 8).toBe(0x61);
    const parts = [responseData(first)];
    let sw = responseSw(first);
    let cls = 0x00;
    while (sw >> 8 === 0x61) {
      const le = sw & 0xff;
      const rr = await euicc.transmit(Uint8Array.of(cls, 0xc0, 0, 0, le));
      parts.push(responseData(rr));
      sw = responseSw(rr);
      cls ^= 0x80;
    }
    expect(sw).toBe(0x9000);
    const all = Uint8Array.from(parts.flatMap((p) => [...p]));
    expect(all.length).toBeGreaterThan(700);
    expect('authenticateResponseOk' in decode(AuthenticateServerResponse, all)).toBe(true);
  });

  it('the last block as case 3 (as lpac sends it) answers 61xx; T=0 style cards always do', async () => {
    euicc = await createEuicc({ card: { case4Response: 'get-response' } });
    expect(await tx(`00A4040010${ISDR}`)).toBe('6121');
    expect((await tx('00C0000021')).slice(0, 4)).toBe('6F1F');
    expect(await tx('80C0000021')).toBe('6985');
    const sw = await tx('80E2910003BF2000');
    expect(sw).toBe('6164');
    const data = await tx('80C0000064');
    expect(data.slice(0, 6)).toBe('BF2061');
    expect(await tx('80E2910003BF200000')).toBe('6164');
  });
});

describe('dispatch SWs', () => {
  it('malformed DER -> 6A80 (truncated, non-minimal length, trailing bytes, a universal type asn1js rejects)', async () => {
    r = await rig();
    for (const bad of ['BF2201', 'BF20810000', 'BF200000', 'BF', 'BF2005 1803 414243']) expect((await r.lpa.es10Raw(hx(bad))).sw, bad).toBe(0x6a80);
    expect(r.euicc.card.internalErrors).toEqual([]);
  });

  it('no ES10 function with that tag -> 6A88', async () => {
    r = await rig();
    for (const unknown of ['BF7F00', '3000', 'BF4200']) expect((await r.lpa.es10Raw(hx(unknown))).sw, unknown).toBe(0x6a88);
  });

  it('BPP sequences without a download session -> 6985', async () => {
    r = await rig();
    for (const seq of ['BF3603BF2300', 'A0028700', 'A100', '8800', 'A200', 'A300', '8600']) expect((await r.lpa.es10Raw(hx(seq))).sw, seq).toBe(0x6985);
  });

  it('a card reset drops the RSP session (AuthenticateServer: noSessionContext)', async () => {
    r = await rig();
    const c = await r.lpa.challenge();
    await r.euicc.reset();
    const lpa = new TestLpa(r.euicc);
    await lpa.open();
    const resp = decode(AuthenticateServerResponse, await lpa.es10(r.smdp.authenticateServerRequest(c).der));
    expect('authenticateResponseError' in resp && resp.authenticateResponseError.authenticateErrorCode).toBe(4);
  });

  it('ISD-R FCI: GlobalPlatform FCI with E0 { 82 SVN }', async () => {
    euicc = await createEuicc({ svn: '2.3.0' });
    expect(await tx(`00A4040010${ISDR}00`)).toBe(`6F1F8410${ISDR}A5049F6501FFE0058203020300` + '9000');
  });
});
