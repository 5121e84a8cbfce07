// State that is never lost (SGP.22 2.4: profiles, notifications with their sequence
// numbers, configured addresses): every change is written atomically, and a new eUICC
// built from the same state file is the same card.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hexToBytes, toHex } from '../bytes.ts';
import { createEuicc } from './euicc.ts';
import { StateFileError } from './state.ts';
import { install, rig, tempDir, testIccid, type Rig } from './testing/fixtures.ts';
import { TestLpa } from './testing/test-lpa.ts';
import { encodeRaw, TestSmdp } from './testing/smdp-binder.ts';
import { iccidToBytes } from '../rsp/iccid.ts';

const A = testIccid(1);
const B = testIccid(2);

let r: Rig | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await r?.euicc.close();
  r = undefined;
  cleanup?.();
  cleanup = undefined;
});

describe('persistence across a restart', () => {
  it('profiles, states, nickname, notifications, counters and addresses survive', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    r = await rig({ statePath: t.file() });
    await install(r, A);
    await install(r, B);
    expect(await r.lpa.enable(B)).toBe(0);
    await r.lpa.es10(encodeRaw(0xbf29, new Uint8Array([...encodeRaw(0x5a, iccidToBytes(A)), ...encodeRaw(0x90, new TextEncoder().encode('kept'))])));
    await r.lpa.es10(encodeRaw(0xbf3f, encodeRaw(0x80, new TextEncoder().encode('smdp.example.com'))));
    await r.lpa.es10(hexToBytes('BF3003800101')); // NotificationSent seq 1
    const before = { profiles: r.euicc.state.profiles(), notes: r.euicc.state.notifications(), seq: r.euicc.state.lastSeqNumber(), addr: r.euicc.state.addresses() };
    expect(statSync(t.file()).mode & 0o777).toBe(0o600);
    await r.euicc.close();

    const again = await createEuicc({ statePath: t.file() });
    r = { euicc: again, lpa: new TestLpa(again), smdp: new TestSmdp() };
    await r.lpa.open();
    expect(again.state.profiles()).toEqual(before.profiles);
    expect(again.state.notifications()).toEqual(before.notes);
    expect(again.state.lastSeqNumber()).toBe(before.seq);
    expect(again.state.addresses()).toEqual(before.addr);
    expect(again.state.profile(A)!.nickname).toBe('kept');
    expect(again.state.enabledProfile()!.iccid).toBe(B);
    // counters continue: next notification and next ISD-P AID
    expect(await r.lpa.disable(B)).toBe(0);
    expect(again.state.notifications().at(-1)!.seqNumber).toBe(before.seq + 1);
    await install(r, testIccid(3));
    expect(again.state.profile(testIccid(3))!.isdpAid).toBe('A0000005591010FFFFFFFF8900001200');
  });

  it('after a restart the card shows the enabled profile', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    r = await rig({ statePath: t.file() });
    await install(r, A);
    await r.lpa.enable(A);
    await r.euicc.close();
    const again = await createEuicc({ statePath: t.file() });
    r = { euicc: again, lpa: new TestLpa(again), smdp: new TestSmdp() };
    expect(toHex(await again.transmit(hexToBytes('00A4080C022FE2')))).toBe('9000');
    expect(toHex(await again.transmit(hexToBytes('00B000000A')))).toBe(toHex(iccidToBytes(A)) + '9000');
  });

  it('without a state file nothing is written', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    r = await rig();
    await install(r, A);
    expect(existsSync(t.file())).toBe(false);
  });

  it('a fresh identity is created once and kept in the state file', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const first = await createEuicc({ statePath: t.file(), identity: 'fresh' });
    expect(first.eid).not.toBe('89049032123451234512345678901235');
    expect(first.eid.startsWith('89049032')).toBe(true);
    const cert = first.identities[0]!.certificate;
    await first.close();
    const second = await createEuicc({ statePath: t.file(), identity: 'fresh' });
    expect(second.eid).toBe(first.eid);
    expect(second.identities[0]!.certificate).toEqual(cert);
    // the fresh identity authenticates like the SGP.26 one
    r = { euicc: second, lpa: new TestLpa(second), smdp: new TestSmdp() };
    await r.lpa.open();
    const { auth } = await r.lpa.authenticate(r.smdp);
    expect(auth.eid).toBe(first.eid);
    expect(JSON.stringify(second.identities[0])).not.toMatch(/[0-9a-f]{64}/);
  });

  it('a state file of another EID, or not a state file, is refused', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const fresh = await createEuicc({ statePath: t.file(), identity: 'fresh' });
    await fresh.close();
    await expect(createEuicc({ statePath: t.file(), identity: 'both' })).rejects.toBeInstanceOf(StateFileError);
    writeFileSync(t.file('bad.json'), '{"version": 7}');
    await expect(createEuicc({ statePath: t.file('bad.json') })).rejects.toBeInstanceOf(StateFileError);
    writeFileSync(t.file('garbage.json'), 'not json');
    await expect(createEuicc({ statePath: t.file('garbage.json') })).rejects.toBeInstanceOf(StateFileError);
  });

  it('the state file is one JSON document written after every change', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    r = await rig({ statePath: t.file() });
    const read = () => JSON.parse(readFileSync(t.file(), 'utf8'));
    expect(read().profiles).toEqual([]);
    await install(r, A);
    expect(read().profiles.map((p: { iccid: string }) => p.iccid)).toEqual([A]);
    expect(read().lastSeqNumber).toBe(1);
    await r.lpa.enable(A);
    expect(read().profiles[0].enabled).toBe(true);
    expect(read().lastSeqNumber).toBe(2);
  });
});
