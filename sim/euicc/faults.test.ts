import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes, hexToBytesSpaced, toHex } from '../bytes.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { CardInterruptedError, CardRemovedError } from './card/card.ts';
import { install, pirError, profileWithIccid, rig, testIccid, type Rig } from './testing/fixtures.ts';
import { TestLpa } from './testing/test-lpa.ts';

const hx = hexToBytesSpaced;
const A = testIccid(1);

let r: Rig;
afterEach(async () => {
  r?.euicc.faults.clear();
  if (r && !r.euicc.card.isPresent) r.euicc.faults.insertCard();
  await r?.euicc.close();
});

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
}

describe('delays', () => {
  it('by ES10 function: only that function is slowed, until cancelled', async () => {
    r = await rig();
    const h = r.euicc.faults.delay({ function: 'GetEUICCInfo2', ms: 300 });
    const [, slow] = await timed(() => r.lpa.es10(hx('BF2200')));
    const [, fast] = await timed(() => r.lpa.es10(hx('BF2000')));
    expect(slow).toBeGreaterThanOrEqual(290);
    expect(fast).toBeLessThan(200);
    expect(h.hits).toBe(1);
    h.cancel();
    const [, after] = await timed(() => r.lpa.es10(hx('BF2200')));
    expect(after).toBeLessThan(200);
  });

  it('by INS, a given number of times', async () => {
    r = await rig();
    const h = r.euicc.faults.delay({ ins: 0xf2, ms: 300, times: 1 });
    const [, first] = await timed(() => r.euicc.transmit(hx('80F2000C00')));
    const [, second] = await timed(() => r.euicc.transmit(hx('80F2000C00')));
    expect(first).toBeGreaterThanOrEqual(290);
    expect(second).toBeLessThan(200);
    expect(h.remaining).toBe(0);
  });

  it('a card reset during a delayed ES10 command: the command is not processed', async () => {
    r = await rig();
    await install(r, A);
    r.euicc.faults.delay({ function: 'EnableProfile', ms: 200 });
    const pending = r.lpa.enable(A);
    await new Promise((res) => setTimeout(res, 50));
    await r.euicc.reset();
    await expect(pending).rejects.toBeInstanceOf(CardInterruptedError);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.euicc.state.enabledProfile()).toBeUndefined();
  });
});

describe('forced status words', () => {
  it('the next N APDUs, whatever they are', async () => {
    r = await rig();
    r.euicc.faults.forceSw({ sw: 0x6f00, times: 2 });
    expect(toHex(await r.euicc.transmit(hx('80F2000C00')))).toBe('6f00');
    expect(toHex(await r.euicc.transmit(hx('80E2910006BF3E035C015A00')))).toBe('6f00');
    expect(toHex(await r.lpa.es10(hx('BF3E035C015A')))).toBe('bf3e125a1089049032123451234512345678901235');
  });

  it('by INS', async () => {
    r = await rig();
    r.euicc.faults.forceSw({ sw: 0x6a82, ins: 0xa4 });
    expect(toHex(await r.euicc.transmit(hx('00A4080C022FE2')))).toBe('6a82');
    expect(toHex(await r.euicc.transmit(hx('00A4080C022FE2')))).toBe('9000');
  });

  it('for an ES10 function: the eUICC state is unchanged', async () => {
    r = await rig();
    await install(r, A);
    const h = r.euicc.faults.forceSw({ sw: 0x6581, function: 'EnableProfile', times: 1 });
    expect((await r.lpa.es10Raw(hx(`BF3111 A00C 5A0A${toHex(iccidToBytes(A))} 8101FF`))).sw).toBe(0x6581);
    expect(r.euicc.state.enabledProfile()).toBeUndefined();
    expect(h.hits).toBe(1);
    expect(await r.lpa.enable(A)).toBe(0);
  });

  it('rejects SWs outside 6000..9FFF', async () => {
    r = await rig();
    expect(() => r.euicc.faults.forceSw({ sw: 0x1234 })).toThrow(RangeError);
  });
});

describe('forced install errors', () => {
  it('at a bppCommandId, once', async () => {
    r = await rig();
    const h = r.euicc.faults.installError({ bppCommandId: 1, errorReason: 127 });
    expect(pirError((await install(r, A)).pirDer)).toEqual({ bppCommandId: 1, errorReason: 127 });
    expect(h.hits).toBe(1);
    expect(pirError((await install(r, A)).pirDer)).toBeUndefined();
  });

  it('at the N-th 86 segment', async () => {
    r = await rig();
    r.euicc.faults.installError({ segment86: 3, errorReason: 8 });
    expect(pirError((await install(r, A)).pirDer)).toEqual({ bppCommandId: 5, errorReason: 8 });
    expect(r.euicc.state.profiles()).toEqual([]);
  });

  it('at storeMetadata with installFailedDueToIccidAlreadyExistsOnEuicc', async () => {
    r = await rig();
    r.euicc.faults.installError({ bppCommandId: 2, errorReason: 9 });
    expect(pirError((await install(r, A)).pirDer)).toEqual({ bppCommandId: 2, errorReason: 9 });
  });
});

describe('card removal, reinsertion and reset', () => {
  it('removed: every APDU fails; reinserted: after-ATR state', async () => {
    r = await rig();
    r.euicc.faults.removeCard();
    await expect(r.euicc.transmit(hx('80F2000C00'))).rejects.toBeInstanceOf(CardRemovedError);
    r.euicc.faults.insertCard();
    expect(r.euicc.card.openChannels()).toEqual([0]);
    const lpa = new TestLpa(r.euicc);
    await lpa.open();
    expect(toHex(await lpa.es10(hx('BF3E035C015A')))).toBe('bf3e125a1089049032123451234512345678901235');
  });

  it('removal at the N-th APDU during a BPP: interruption PIR, nothing installed', async () => {
    r = await rig();
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A } });
    r.euicc.faults.removeCard({ atCommand: 12 });
    await expect(r.lpa.loadBpp(bound.bpp)).rejects.toBeInstanceOf(CardRemovedError);
    r.euicc.faults.insertCard();
    const last = r.euicc.state.notifications().at(-1)!;
    expect(pirError(last.der)?.errorReason).toBe(11);
    expect(r.euicc.state.profiles()).toEqual([]);
  });

  it('resetCard answers the ATR and drops the session', async () => {
    r = await rig();
    await r.lpa.authenticate(r.smdp);
    const atr = await r.euicc.faults.resetCard();
    expect(toHex(atr)).toBe(toHex(r.euicc.atr()));
    expect(r.euicc.card.openChannels()).toEqual([0]);
  });

  it('clear() removes every rule and catBusy', async () => {
    r = await rig();
    r.euicc.faults.catBusy = true;
    r.euicc.faults.forceSw({ sw: 0x6f00, function: 'GetEID' });
    r.euicc.faults.clear();
    expect(r.euicc.faults.catBusy).toBe(false);
    expect((await r.lpa.es10Raw(hx('BF3E035C015A'))).sw).toBe(0x9000);
  });
});
