import { describe, expect, it } from 'vitest';
import { buildResponse, parseCommand } from '../apdu/apdu.ts';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { encode } from '../rsp/der.ts';
import { codecs } from '../rsp/registry.ts';
import { samples } from '../rsp/testdata/samples.ts';
import { bppSegmentsForLoading } from '../rsp/es8p.ts';
import { Es10Client, ISD_R_AID_HEX } from './es10.ts';
import { ApduError, Es10ResponseError, ReceiveBufferError } from './errors.ts';
import { cardWithIsdr, RecordingTransport, ScriptedIsdr, ScriptedTransport } from './testing/fake-isdr.ts';

const OK = Uint8Array.of(0x90, 0x00);
const FCI = hexToBytes('6F108410' + ISD_R_AID_HEX);
const der = (name: string) => encode(codecs[name]!, samples[name]);

/**
 * A minimal scripted card: MANAGE CHANNEL opens `channel`, SELECT answers the FCI, STORE
 * DATA answers 9000 and `lastResponse(payload)` on P1=91, GET RESPONSE serves pending data.
 */
function fakeCard(channel: number, lastResponse: (p: Uint8Array[]) => Uint8Array = () => OK) {
  let blocks: Uint8Array[] = [];
  return new ScriptedTransport((c) => {
    const cmd = parseCommand(c);
    if (cmd.ins === 0x70 && cmd.p1 === 0x00) return buildResponse(Uint8Array.of(channel), 0x9000);
    if (cmd.ins === 0x70 && cmd.p1 === 0x80) return OK;
    if (cmd.ins === 0xa4) return buildResponse(FCI, 0x9000);
    if (cmd.ins === 0xe2) {
      blocks.push(cmd.data);
      if (cmd.p1 === 0x11) return OK;
      const r = lastResponse(blocks);
      blocks = [];
      return r;
    }
    return Uint8Array.of(0x6d, 0x00);
  });
}

const storeData = (t: ScriptedTransport) => t.sent.map((c) => parseCommand(c)).filter((c) => c.ins === 0xe2);

describe('Es10Client session', () => {
  it('opens a logical channel with MANAGE CHANNEL and SELECTs the ISD-R on it', async () => {
    const t = fakeCard(1);
    const es10 = await Es10Client.open(t);
    expect(es10.channel).toBe(1);
    expect(toUpperHex(t.sent[0]!)).toBe('0070000001');
    expect(toUpperHex(t.sent[1]!)).toBe(`01A4040010${ISD_R_AID_HEX}00`);
    expect(es10.selectResponse).toEqual(FCI);
    await es10.close();
    expect(toUpperHex(t.sent[2]!)).toBe('0070800100');
    expect(t.sent).toHaveLength(3);
  });

  it('uses the basic channel when told: no MANAGE CHANNEL, CLA 00/80, nothing to close', async () => {
    const t = fakeCard(1);
    const es10 = await Es10Client.open(t, { channel: 'basic' });
    await es10.storeData(hexToBytes('BF3E035C015A'));
    await es10.close();
    expect(t.sent.map(toUpperHex)).toEqual([`00A4040010${ISD_R_AID_HEX}00`, '80E2910006BF3E035C015A00']);
  });

  it('codes channels 1-3 in CLA b2-b1 and channels 4-19 as 4X/CX', async () => {
    for (const [ch, select, store] of [
      [2, 0x02, 0x82],
      [3, 0x03, 0x83],
      [4, 0x40, 0xc0],
      [5, 0x41, 0xc1],
      [19, 0x4f, 0xcf],
    ] as const) {
      const t = fakeCard(ch);
      const es10 = await Es10Client.open(t);
      await es10.storeData(hexToBytes('BF2E00'));
      await es10.close();
      expect(t.sent[1]![0]).toBe(select);
      expect(storeData(t)[0]!.cla).toBe(store);
      expect(toUpperHex(t.sent.at(-1)!)).toBe(`007080${ch.toString(16).toUpperCase().padStart(2, '0')}00`);
    }
  });

  it('reports a SELECT failure as ApduError and closes the channel it opened', async () => {
    const t = new ScriptedTransport((c) => (c[1] === 0x70 && c[2] === 0 ? buildResponse(Uint8Array.of(1), 0x9000) : c[1] === 0xa4 ? Uint8Array.of(0x6a, 0x82) : OK));
    const err = await Es10Client.open(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApduError);
    expect(err).toMatchObject({ sw: 0x6a82, swHex: '6A82', swName: 'file or application not found', command: `SELECT ${ISD_R_AID_HEX}` });
    expect(toUpperHex(t.sent.at(-1)!)).toBe('0070800100');
  });

  it('reports a refused MANAGE CHANNEL (no free channel) as ApduError 6881', async () => {
    const t = new ScriptedTransport(() => Uint8Array.of(0x68, 0x81));
    await expect(Es10Client.open(t)).rejects.toMatchObject({ name: 'ApduError', sw: 0x6881, command: 'MANAGE CHANNEL open' });
  });
});

describe('STORE DATA segmentation', () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);

  it('cuts 300 bytes into 120+120+60 with P1 11/11/91, P2 00/01/02 and Le on the last block', async () => {
    const t = fakeCard(1);
    const es10 = await Es10Client.open(t);
    await es10.storeData(payload);
    const blocks = storeData(t);
    expect(blocks.map((b) => [b.p1, b.p2, b.data.length, b.le])).toEqual([
      [0x11, 0, 120, undefined],
      [0x11, 1, 120, undefined],
      [0x91, 2, 60, 256],
    ]);
    expect(blocks.every((b) => b.cla === 0x81)).toBe(true);
    expect(Uint8Array.from(blocks.flatMap((b) => Array.from(b.data)))).toEqual(payload);
  });

  it('cuts 300 bytes into 255+45 with block size 255, and sends the last block as case 3 when leOnLast is false', async () => {
    const t = fakeCard(2);
    const es10 = await Es10Client.open(t, { blockSize: 255, leOnLast: false });
    await es10.storeData(payload);
    expect(storeData(t).map((b) => [b.cla, b.p1, b.p2, b.data.length, b.case])).toEqual([
      [0x82, 0x11, 0, 255, 3],
      [0x82, 0x91, 1, 45, 3],
    ]);
  });

  it('rejects a block size outside 1..255', async () => {
    await expect(Es10Client.open(fakeCard(1), { blockSize: 256 })).rejects.toThrow(RangeError);
  });

  it('stops at the first block with an error SW and throws ApduError with the SW name', async () => {
    let n = 0;
    const t = new ScriptedTransport((c) => {
      if (c[1] === 0x70) return buildResponse(Uint8Array.of(1), 0x9000);
      if (c[1] === 0xa4) return OK;
      return ++n === 2 ? Uint8Array.of(0x6a, 0x80) : OK;
    });
    const es10 = await Es10Client.open(t);
    const err = await es10.storeData(payload, 'ES10b.Test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApduError);
    expect(err).toMatchObject({ sw: 0x6a80, swName: 'incorrect parameters in the data field', command: 'ES10b.Test' });
    expect(storeData(t)).toHaveLength(2);
  });
});

describe('T=0 procedure bytes', () => {
  const eidResponse = der('GetEuiccDataResponse');

  for (const [name, grClass, channel, expectedCla] of [
    ['ISO class on channel 1', 0x00, 1, 0x01],
    ['lpac class on channel 1', 0x80, 1, 0x81],
    ['ISO class on channel 6', 0x00, 6, 0x42],
    ['lpac class on channel 6', 0x80, 6, 0xc2],
  ] as const) {
    it(`sends GET RESPONSE after 61xx (${name})`, async () => {
      let pending: Uint8Array | undefined;
      const t = new ScriptedTransport((c) => {
        const cmd = parseCommand(c);
        if (cmd.ins === 0x70) return buildResponse(Uint8Array.of(channel), 0x9000);
        if (cmd.ins === 0xa4) return OK;
        if (cmd.ins === 0xe2) {
          pending = eidResponse;
          return Uint8Array.of(0x61, eidResponse.length);
        }
        if (cmd.ins === 0xc0 && pending) {
          const r = buildResponse(pending, 0x9000);
          pending = undefined;
          return r;
        }
        return Uint8Array.of(0x69, 0x85);
      });
      const es10 = await Es10Client.open(t, { getResponseClass: grClass });
      expect(await es10.getEid()).toBe('89049032123451234512345678901235');
      const gr = t.sent.find((c) => c[1] === 0xc0)!;
      expect(toUpperHex(gr)).toBe(`${expectedCla.toString(16).toUpperCase().padStart(2, '0')}C00000${eidResponse.length.toString(16).toUpperCase().padStart(2, '0')}`);
    });
  }

  it('resends the command with Le=xx after 6Cxx', async () => {
    const eid = der('GetEuiccDataResponse');
    const t = new ScriptedTransport((c) => {
      const cmd = parseCommand(c);
      if (cmd.ins === 0x70) return buildResponse(Uint8Array.of(1), 0x9000);
      if (cmd.ins === 0xa4) return OK;
      if (cmd.le === 256) return Uint8Array.of(0x6c, eid.length);
      return buildResponse(eid, 0x9000);
    });
    const es10 = await Es10Client.open(t);
    expect(await es10.getEid()).toBe('89049032123451234512345678901235');
    const sd = storeData(t);
    expect(sd.map((s) => s.le)).toEqual([256, eid.length]);
    expect(sd[0]!.data).toEqual(sd[1]!.data);
  });

  it('works against the card layer in T=0 style (61xx + GET RESPONSE in class 8X) and traces every APDU', async () => {
    const isdr = new ScriptedIsdr().on(0xbf3e, der('GetEuiccDataResponse'));
    const card = new RecordingTransport(cardWithIsdr(isdr, { case4Response: 'get-response' }));
    const traced: string[] = [];
    const es10 = await Es10Client.open(card, { getResponseClass: 0x80, trace: { onApdu: (e) => traced.push(toUpperHex(e.capdu)) } });
    expect(await es10.getEid()).toBe('89049032123451234512345678901235');
    await es10.close();
    expect(traced).toEqual(card.exchanges.map((e) => toUpperHex(e.capdu)));
    expect(traced.some((c) => c.startsWith('81C00000'))).toBe(true);
    expect(isdr.received.map((r) => [r.tag, r.channel])).toEqual([[0xbf3e, 1]]);
  });
});

describe('typed ES10 functions', () => {
  it('decodes responses and reports empty or malformed ones as Es10ResponseError', async () => {
    const isdr = new ScriptedIsdr()
      .on(0xbf3c, der('EuiccConfiguredAddressesResponse'))
      .on(0xbf2e, new Uint8Array(0))
      .on(0xbf22, hexToBytes('BF2203800102'));
    const es10 = await Es10Client.open(cardWithIsdr(isdr));
    expect(await es10.getConfiguredAddresses()).toEqual({ defaultDpAddress: 'testsmdpplus1.example.com', rootDsAddress: 'lpa.ds.gsma.com' });
    await expect(es10.getEuiccChallenge()).rejects.toMatchObject({ name: 'Es10ResponseError', problem: 'empty', fn: 'ES10b.GetEUICCChallenge' });
    const malformed = await es10.getEuiccInfo2().catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(Es10ResponseError);
    expect(malformed).toMatchObject({ problem: 'malformed', fn: 'ES10b.GetEUICCInfo2' });
  });

  it('encodes the ES10c requests (ICCID as EF.ICCID BCD, AID, refreshFlag, reset options, nickname)', async () => {
    const isdr = new ScriptedIsdr()
      .on(0xbf31, hexToBytes('BF3103800100'))
      .on(0xbf32, hexToBytes('BF3203800102'))
      .on(0xbf33, hexToBytes('BF3303800100'))
      .on(0xbf34, hexToBytes('BF3403800101'))
      .on(0xbf29, hexToBytes('BF2903800100'))
      .on(0xbf2d, der('ProfileInfoListResponse'))
      .on(0xbf30, hexToBytes('BF3003800100'));
    const es10 = await Es10Client.open(cardWithIsdr(isdr));
    expect(await es10.enableProfile({ iccid: '89000123456789012341' }, true)).toEqual({ enableResult: 0 });
    expect(await es10.disableProfile({ isdpAid: hexToBytes('A0000005591010FFFFFFFF8900001000') })).toEqual({ disableResult: 2 });
    expect(await es10.deleteProfile({ iccid: '8900012345678901234' })).toEqual({ deleteResult: 0 });
    expect(await es10.memoryReset(['deleteOperationalProfiles', 'resetDefaultSmdpAddress'])).toEqual({ resetResult: 1 });
    expect(await es10.setNickname('89000123456789012341', 'Home')).toEqual({ setNicknameResult: 0 });
    const list = await es10.getProfilesInfo({ iccid: '89000123456789012341' }, hexToBytes('5A9F70'));
    expect('profileInfoListOk' in list && list.profileInfoListOk[0]!.profileNickname).toBe('Work');
    expect(await es10.notificationSent(7)).toEqual({ deleteNotificationStatus: 0 });
    expect(isdr.received.map((r) => toUpperHex(r.request))).toEqual([
      'BF3111A00C5A0A980010325476981032148101FF',
      'BF3217A0124F10A0000005591010FFFFFFFF8900001000810100',
      'BF330C5A0A980010325476981032F4',
      'BF3404820205A0',
      'BF29125A0A980010325476981032149004486F6D65',
      'BF2D13A00C5A0A980010325476981032145C035A9F70',
      'BF3003800107',
    ]);
  });
});

describe('LoadBoundProfilePackage', () => {
  const bpp = der('BoundProfilePackage');
  const segments = bppSegmentsForLoading(bpp);
  const pir = der('ProfileInstallationResult');

  /** Group the STORE DATA blocks into sequences (a sequence ends with P1=91). */
  function sequences(t: ScriptedTransport): { p2: number[]; bytes: Uint8Array }[] {
    const out: { p2: number[]; bytes: Uint8Array }[] = [];
    let cur: { p2: number[]; parts: Uint8Array[] } = { p2: [], parts: [] };
    for (const b of storeData(t)) {
      cur.p2.push(b.p2);
      cur.parts.push(b.data);
      if (b.p1 === 0x91) {
        out.push({ p2: cur.p2, bytes: Uint8Array.from(cur.parts.flatMap((p) => Array.from(p))) });
        cur = { p2: [], parts: [] };
      }
    }
    return out;
  }

  it('sends each segment as its own STORE DATA sequence in the SGP.22 2.5.5 order and returns the PIR of the last one', async () => {
    expect(segments.map((s) => s.kind)).toEqual([
      'bf36Header+iscr',
      'firstSequenceOf87',
      'sequenceOf88Header',
      'tlv88',
      'tlv88',
      'secondSequenceOf87',
      'sequenceOf86Header',
      'tlv86',
      'tlv86',
    ]);
    let seq = 0;
    const t = fakeCard(1, () => (++seq === segments.length ? buildResponse(pir, 0x9000) : OK));
    const es10 = await Es10Client.open(t);
    const progress: string[] = [];
    const result = await es10.loadBoundProfilePackage(bpp, { onSegment: (p) => progress.push(`${p.index}/${p.total}:${p.segment.kind}`) });
    expect(result.profileInstallationResultData.notificationMetadata.seqNumber).toBe(7);
    const sent = sequences(t);
    expect(sent.map((s) => toUpperHex(s.bytes))).toEqual(segments.map((s) => toUpperHex(s.bytes)));
    // every sequence numbers its blocks from 00; the 1100-byte 86 TLV takes ceil(1104/120) = 10 blocks
    for (const s of sent) expect(s.p2).toEqual(s.p2.map((_, i) => i));
    expect(sent[7]!.p2).toHaveLength(10);
    expect(progress[0]).toBe('0/9:bf36Header+iscr');
  });

  it('stops at the first segment whose response carries BF37', async () => {
    let seq = 0;
    const t = fakeCard(1, () => (++seq === 4 ? buildResponse(pir, 0x9000) : OK));
    const es10 = await Es10Client.open(t);
    const result = await es10.loadBoundProfilePackage(bpp);
    expect(result.euiccSignPIR).toHaveLength(64);
    expect(sequences(t)).toHaveLength(4);
  });

  it('throws Es10ResponseError when no segment returns a result, and ApduError when a segment is refused', async () => {
    const es10 = await Es10Client.open(fakeCard(1));
    await expect(es10.loadBoundProfilePackage(bpp)).rejects.toMatchObject({ name: 'Es10ResponseError', problem: 'empty' });
    let seq = 0;
    const t = fakeCard(1, () => (++seq === 2 ? Uint8Array.of(0x69, 0x85) : OK));
    const es10b = await Es10Client.open(t);
    await expect(es10b.loadBoundProfilePackage(bpp)).rejects.toMatchObject({ name: 'ApduError', sw: 0x6985 });
    // the second sequence got 6985 on its last block: nothing after it was sent
    expect(sequences(t).map((s) => toUpperHex(s.bytes))).toEqual(segments.slice(0, 2).map((s) => toUpperHex(s.bytes)));
  });
});

describe('LPA behaviour profile options', () => {
  const EID = '89049032123451234512345678901235';
  // GetEID answer with a non-minimal length (81 12): valid BER, not DER
  const berEid = hexToBytes(`BF3E81125A10${EID}`);

  it('strict (default) rejects a card answer that is not DER; tolerant accepts it and reports the finding', async () => {
    const strict = await Es10Client.open(cardWithIsdr(new ScriptedIsdr().on(0xbf3e, berEid)));
    await expect(strict.getEid()).rejects.toThrow(/ES10c.GetEID: response is not a valid GetEuiccDataResponse: notDer: non-minimal length encoding/);
    const findings: string[] = [];
    const tolerant = await Es10Client.open(cardWithIsdr(new ScriptedIsdr().on(0xbf3e, berEid)), { peerEncoding: 'tolerant', trace: { onFinding: (fn, f) => findings.push(`${fn} ${f.rule} @${f.offset}`) } });
    expect(await tolerant.getEid()).toBe(EID);
    expect(findings).toEqual(['ES10c.GetEID non-minimal-length @2']);
  });

  it('an R-APDU over the receive buffer is a ReceiveBufferError (as SCARD_E_INSUFFICIENT_BUFFER on PC/SC)', async () => {
    // a bridge that joined the card's 61xx chain: 305 data bytes + SW in one R-APDU
    const big = hexToBytes(`BF3E82012C5A10${EID}${'00'.repeat(282)}`);
    const es10 = await Es10Client.open(fakeCard(1, () => buildResponse(big, 0x9000)), { receiveBuffer: 264 });
    const err = await es10.getEid().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReceiveBufferError);
    expect(err).toMatchObject({ length: 307, receiveBuffer: 264 });
  });

  it('sends TERMINAL CAPABILITY first and SELECT without Le when the profile says so', async () => {
    const sent: string[] = [];
    const card = cardWithIsdr(new ScriptedIsdr());
    const es10 = await Es10Client.open(card, { terminalCapability: '80AA00000AA9088100820101830107', selectLe: false, trace: { onApdu: (e) => sent.push(toUpperHex(e.capdu)) } });
    expect(sent[0]).toBe('80AA00000AA9088100820101830107');
    expect(sent[1]).toBe('0070000001');
    expect(sent[2]).toBe(`01A4040010${ISD_R_AID_HEX}`);
    await es10.close();
  });
});
