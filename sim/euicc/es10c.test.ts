import { afterEach, describe, expect, it } from 'vitest';
import { decode } from '../rsp/der.ts';
import { ProfileInfoListResponse, EuiccMemoryResetResponse, SetNicknameResponse, EnableProfileResponse, DisableProfileResponse, DeleteProfileResponse } from '../rsp/es10c.ts';
import { EuiccConfiguredAddressesResponse, SetDefaultDpAddressResponse } from '../rsp/es10a.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { hexToBytes, hexToBytesSpaced, toHex } from '../bytes.ts';
import { ALL_EVENTS, install, NOTIFY_ADDRESS, rig, testIccid, type Rig } from './testing/fixtures.ts';
import { encodeRaw } from './testing/smdp-binder.ts';
import { parseTagList } from './es10c.ts';

const hx = hexToBytesSpaced;
const A = testIccid(1);
const B = testIccid(2);
const C = testIccid(3);

let r: Rig;
afterEach(async () => {
  await r?.euicc.close();
});

function profilesInfo(der: Uint8Array) {
  const resp = decode(ProfileInfoListResponse, der);
  if (!('profileInfoListOk' in resp)) throw new Error(`error ${resp.profileInfoListError}`);
  return resp.profileInfoListOk;
}

const byAid = (tag: number, aid: string, refresh?: boolean) =>
  encodeRaw(tag, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x4f, hx(aid))), ...(refresh === undefined ? [] : encodeRaw(0x81, Uint8Array.of(refresh ? 0xff : 0)))]));

describe('GetProfilesInfo (5.7.15)', () => {
  it('no profiles: an empty list', async () => {
    r = await rig();
    expect(toHex(await r.lpa.es10(hx('BF2D00')))).toBe('bf2d02a000');
  });

  it('every field without tagList, metadata as stored', async () => {
    r = await rig();
    await install(r, A, {
      profileClass: 0,
      serviceProviderName: 'Operator A',
      profileName: 'Plan A',
      iconType: 1,
      icon: hx('89504E47'),
      profileOwner: { mccMnc: hx('00F110'), gid1: hx('01') },
      profilePolicyRules: ['ppr2'],
    });
    const [p] = profilesInfo(await r.lpa.es10(hx('BF2D00')));
    expect(p).toEqual({
      iccid: iccidToBytes(A),
      isdpAid: hx('A0000005591010FFFFFFFF8900001000'),
      profileState: 0,
      serviceProviderName: 'Operator A',
      profileName: 'Plan A',
      iconType: 1,
      icon: hx('89504E47'),
      profileClass: 0,
      notificationConfigurationInfo: [{ profileManagementOperation: ALL_EVENTS, notificationAddress: NOTIFY_ADDRESS }],
      profileOwner: { mccMnc: hx('00F110'), gid1: hx('01') },
      dpProprietaryData: { dpOid: '2.999.10' },
      profilePolicyRules: ['ppr2'],
    });
    const snap = r.euicc.state.profile(A)!;
    expect(snap).toMatchObject({ iccid: A, state: 'disabled', profileClass: 'test', imsi: '001010123456063', usimAid: 'A0000000871002FF49FF0589', profileType: 'GSMA Generic eUICC Test Profile', smdpOid: '2.999.10' });
  });

  it('tagList: only the listed fields (5A 9F70 90 95 as lpac asks), unknown tags ignored', async () => {
    r = await rig();
    await install(r, A);
    await r.lpa.es10(encodeRaw(0xbf29, new Uint8Array([...encodeRaw(0x5a, iccidToBytes(A)), ...encodeRaw(0x90, new TextEncoder().encode('mine'))])));
    const [p] = profilesInfo(await r.lpa.es10(hx('BF2D08 5C06 5A9F70909501')));
    expect(p).toEqual({ iccid: iccidToBytes(A), profileState: 0, profileNickname: 'mine', profileClass: 2 });
    const [q] = profilesInfo(await r.lpa.es10(hx('BF2D04 5C02 BF22')));
    expect(q).toEqual({});
  });

  it('searchCriteria by ICCID, ISD-P AID and profile class; no match: empty list', async () => {
    r = await rig();
    await install(r, A, { profileClass: 0 });
    await install(r, B, { profileClass: 2 });
    const iccidOnly = (der: Uint8Array) => profilesInfo(der).map((p) => p.iccid && toHex(p.iccid));
    expect(iccidOnly(await r.lpa.es10(encodeRaw(0xbf2d, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(B))), ...hx('5C015A')]))))).toEqual([toHex(iccidToBytes(B))]);
    expect(iccidOnly(await r.lpa.es10(hx('BF2D17 A012 4F10 A0000005591010FFFFFFFF8900001000 5C015A')))).toEqual([toHex(iccidToBytes(A))]);
    expect(iccidOnly(await r.lpa.es10(hx('BF2D08 A003 950102 5C015A')))).toEqual([toHex(iccidToBytes(B))]);
    expect(iccidOnly(await r.lpa.es10(hx('BF2D08 A003 950101 5C015A')))).toEqual([]);
    expect(iccidOnly(await r.lpa.es10(encodeRaw(0xbf2d, encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(C))))))).toEqual([]);
  });

  it('a malformed tagList: profileInfoListError incorrectInputValues (1)', async () => {
    r = await rig();
    expect(decode(ProfileInfoListResponse, await r.lpa.es10(hx('BF2D03 5C01 9F')))).toEqual({ profileInfoListError: 1 });
    expect(parseTagList(hx('5A9F70BF2295'))).toEqual([0x5a, 0x9f70, 0xbf22, 0x95]);
  });
});

describe('EnableProfile / DisableProfile (5.7.16-5.7.17)', () => {
  it('enable by ICCID, then by AID: the enabled one is disabled, notifications of both in order', async () => {
    r = await rig();
    await install(r, A);
    await install(r, B);
    const events = r.euicc.events.record('profile');
    const refresh = r.euicc.events.record('refresh');
    expect(await r.lpa.enable(A)).toBe(0);
    expect(decode(EnableProfileResponse, await r.lpa.es10(byAid(0xbf31, 'A0000005591010FFFFFFFF8900001100', false)))).toEqual({ enableResult: 0 });
    expect(r.euicc.state.enabledProfile()?.iccid).toBe(B);
    expect(r.euicc.state.profile(A)?.state).toBe('disabled');
    expect(r.euicc.state.notifications().map((n) => [n.seqNumber, n.kind, n.iccid])).toEqual([
      [1, 'install', A],
      [2, 'install', B],
      [3, 'enable', A],
      [4, 'disable', A],
      [5, 'enable', B],
    ]);
    expect(events.map((e) => `${e.change}:${e.iccid}`)).toEqual([`enabled:${A}`, `disabled:${A}`, `enabled:${B}`]);
    // refreshFlag true for A, false for B
    expect(refresh).toEqual([{ mode: 'euiccProfileStateChange', operation: 'enable', iccid: A }]);
  });

  it('the card file system follows the enabled profile (EF.ICCID, ADF.USIM EF.IMSI)', async () => {
    r = await rig();
    await install(r, A);
    const read = async (hex: string) => toHex(await r.euicc.transmit(hx(hex))).toUpperCase();
    expect(await read('00A4080C022FE2')).toBe('9000');
    expect(await read('00B000000A')).toBe('98400923000000000011' + '9000');
    expect(await r.lpa.enable(A)).toBe(0);
    expect(await read('00A4080C022FE2')).toBe('9000');
    expect(await read('00B000000A')).toBe(toHex(iccidToBytes(A)).toUpperCase() + '9000');
    expect((await read('00A4040C0CA0000000871002FF49FF0589')).slice(-4)).toBe('9000');
    expect(await read('00A4000C026F07')).toBe('9000');
    expect(await read('00B0000009')).toBe('080910101032540636' + '9000');
  });

  it('iccidOrAidNotFound (1), profileNotInDisabledState (2), profileNotInEnabledState (2)', async () => {
    r = await rig();
    await install(r, A);
    expect(await r.lpa.enable(C)).toBe(1);
    expect(decode(EnableProfileResponse, await r.lpa.es10(byAid(0xbf31, 'A0000005591010FFFFFFFF8900009900', true)))).toEqual({ enableResult: 1 });
    expect(await r.lpa.disable(A)).toBe(2);
    expect(await r.lpa.disable(C)).toBe(1);
    expect(decode(DisableProfileResponse, await r.lpa.es10(byAid(0xbf32, 'A0000005591010FFFFFFFF8900009900', true)))).toEqual({ disableResult: 1 });
    expect(await r.lpa.enable(A)).toBe(0);
    expect(await r.lpa.enable(A)).toBe(2);
    expect(await r.lpa.disable(A)).toBe(0);
  });

  it('disallowedByPolicy (3): PPR1 forbids disabling, and enabling another profile', async () => {
    r = await rig();
    await install(r, A, { profilePolicyRules: ['ppr1'] });
    await install(r, B);
    expect(await r.lpa.enable(A)).toBe(0);
    expect(await r.lpa.disable(A)).toBe(3);
    expect(await r.lpa.enable(B)).toBe(3);
    expect(r.euicc.state.enabledProfile()?.iccid).toBe(A);
    expect(r.euicc.state.notifications().filter((n) => n.kind !== 'install').map((n) => n.kind)).toEqual(['enable']);
  });

  it('catBusy (5) from the fault switch, state unchanged', async () => {
    r = await rig();
    await install(r, A);
    r.euicc.faults.catBusy = true;
    expect(await r.lpa.enable(A)).toBe(5);
    expect(r.euicc.state.enabledProfile()).toBeUndefined();
    r.euicc.faults.catBusy = false;
    expect(await r.lpa.enable(A)).toBe(0);
    r.euicc.faults.catBusy = true;
    expect(await r.lpa.disable(A)).toBe(5);
    expect(r.euicc.state.enabledProfile()?.iccid).toBe(A);
  });

  it('disable with refreshFlag emits a REFRESH event', async () => {
    r = await rig();
    await install(r, A);
    await r.lpa.enable(A, false);
    const refresh = r.euicc.events.record('refresh');
    expect(await r.lpa.disable(A, true)).toBe(0);
    expect(refresh).toEqual([{ mode: 'euiccProfileStateChange', operation: 'disable', iccid: A }]);
  });
});

describe('DeleteProfile (5.7.18)', () => {
  it('ok (0) frees the memory and notifies; by AID too', async () => {
    r = await rig();
    await install(r, A);
    await install(r, B);
    const before = r.euicc.state.memory().free;
    const size = r.euicc.state.profile(A)!.size;
    expect(await r.lpa.delete(A)).toBe(0);
    expect(r.euicc.state.memory().free).toBe(before + size);
    expect(decode(DeleteProfileResponse, await r.lpa.es10(hx('BF3312 4F10 A0000005591010FFFFFFFF8900001100')))).toEqual({ deleteResult: 0 });
    expect(r.euicc.state.profiles()).toEqual([]);
    expect(r.euicc.state.notifications().map((n) => `${n.kind}:${n.address}`)).toEqual([`install:${r.smdp.address}`, `install:${r.smdp.address}`, `delete:${NOTIFY_ADDRESS}`, `delete:${NOTIFY_ADDRESS}`]);
  });

  it('iccidOrAidNotFound (1), profileNotInDisabledState (2), disallowedByPolicy (3) for PPR2', async () => {
    r = await rig();
    await install(r, A);
    await install(r, B, { profilePolicyRules: ['ppr2'] });
    expect(await r.lpa.delete(C)).toBe(1);
    await r.lpa.enable(A);
    expect(await r.lpa.delete(A)).toBe(2);
    expect(await r.lpa.delete(B)).toBe(3);
    expect(r.euicc.state.profiles().length).toBe(2);
  });

  it('an ISD-P AID is never reused', async () => {
    r = await rig();
    await install(r, A);
    await r.lpa.delete(A);
    await install(r, A);
    expect(r.euicc.state.profile(A)!.isdpAid).toBe('A0000005591010FFFFFFFF8900001100');
  });
});

describe('eUICCMemoryReset (5.7.19)', () => {
  const reset = async (bits: string) => decode(EuiccMemoryResetResponse, await r.lpa.es10(hx(`BF3404 8202 ${bits}`))).resetResult;

  it('each option bit; no notifications are generated; the enabled profile is deleted too', async () => {
    r = await rig({ defaultDpAddress: 'factory.example.com' });
    await install(r, A, { profileClass: 0 });
    await install(r, B, { profileClass: 2, profilePolicyRules: ['ppr1', 'ppr2'] });
    await r.lpa.enable(B);
    const seq = r.euicc.state.lastSeqNumber();
    const refresh = r.euicc.events.record('refresh');
    // deleteOperationalProfiles (bit 0)
    expect(await reset('0780')).toBe(0);
    expect(r.euicc.state.profiles().map((p) => p.iccid)).toEqual([A]);
    expect(refresh).toEqual([{ mode: 'euiccProfileStateChange', operation: 'memoryReset', iccid: B }]);
    expect(await reset('0780')).toBe(1);
    // deleteFieldLoadedTestProfiles (bit 1)
    expect(await reset('0640')).toBe(0);
    expect(r.euicc.state.profiles()).toEqual([]);
    expect(r.euicc.state.lastSeqNumber()).toBe(seq);
    expect(r.euicc.state.notifications().length).toBe(seq);
    // resetDefaultSmdpAddress (bit 2)
    await r.lpa.es10(encodeRaw(0xbf3f, encodeRaw(0x80, new TextEncoder().encode('other.example.com'))));
    expect(await reset('0520')).toBe(0);
    expect(r.euicc.state.addresses().defaultDpAddress).toBe('factory.example.com');
    expect(await reset('0640')).toBe(1);
  });

  it('catBusy (5)', async () => {
    r = await rig();
    await install(r, A);
    r.euicc.faults.catBusy = true;
    expect(await reset('05E0')).toBe(5);
    expect(r.euicc.state.profiles().length).toBe(1);
  });
});

describe('GetEID (5.7.20), SetNickname (5.7.21)', () => {
  it('GetEID: the EID; a tagList other than 5A answers 6A88', async () => {
    r = await rig();
    expect(toHex(await r.lpa.es10(hx('BF3E035C015A')))).toBe('bf3e125a1089049032123451234512345678901235');
    expect((await r.lpa.es10Raw(hx('BF3E035C015B'))).sw).toBe(0x6a88);
  });

  it('SetNickname: ok (0), iccidNotFound (1); empty removes it', async () => {
    r = await rig();
    await install(r, A);
    const set = async (iccid: string, name: string) =>
      decode(SetNicknameResponse, await r.lpa.es10(encodeRaw(0xbf29, new Uint8Array([...encodeRaw(0x5a, iccidToBytes(iccid)), ...encodeRaw(0x90, new TextEncoder().encode(name))])))).setNicknameResult;
    expect(await set(A, 'work phone')).toBe(0);
    expect(r.euicc.state.profile(A)!.nickname).toBe('work phone');
    expect(await set(C, 'x')).toBe(1);
    expect(await set(A, '')).toBe(0);
    expect(r.euicc.state.profile(A)!.nickname).toBeUndefined();
  });
});

describe('ES10a: GetEuiccConfiguredAddresses / SetDefaultDpAddress (5.7.3-5.7.4)', () => {
  it('root SM-DS and default SM-DP+ addresses; set and remove the default', async () => {
    r = await rig();
    expect(decode(EuiccConfiguredAddressesResponse, await r.lpa.es10(hx('BF3C00')))).toEqual({ rootDsAddress: 'lpa.ds.gsma.com' });
    const set = async (addr: string) =>
      decode(SetDefaultDpAddressResponse, await r.lpa.es10(encodeRaw(0xbf3f, encodeRaw(0x80, new TextEncoder().encode(addr))))).setDefaultDpAddressResult;
    expect(await set('smdp.example.com')).toBe(0);
    expect(toHex(await r.lpa.es10(hx('BF3C00')))).toBe(toHex(encodeRaw(0xbf3c, new Uint8Array([...encodeRaw(0x80, new TextEncoder().encode('smdp.example.com')), ...encodeRaw(0x81, new TextEncoder().encode('lpa.ds.gsma.com'))]))));
    expect(await set('')).toBe(0);
    expect(decode(EuiccConfiguredAddressesResponse, await r.lpa.es10(hx('BF3C00')))).toEqual({ rootDsAddress: 'lpa.ds.gsma.com' });
  });

  it('configured at creation', async () => {
    r = await rig({ defaultDpAddress: 'factory.example.com', rootDsAddress: 'ds.example.com' });
    expect(decode(EuiccConfiguredAddressesResponse, await r.lpa.es10(hx('BF3C00')))).toEqual({ defaultDpAddress: 'factory.example.com', rootDsAddress: 'ds.example.com' });
  });
});

describe('the card after a profile change (SGP.22 5.7.16 refreshFlag, ETSI TS 102 223 6.4.7 REFRESH)', () => {
  const enableCmd = (iccid: string, refresh: boolean): Uint8Array =>
    encodeRaw(0xbf31, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(iccid))), ...encodeRaw(0x81, Uint8Array.of(refresh ? 0xff : 0x00))]));
  const enableRaw = async (iccid: string, refresh: boolean): Promise<{ result: number; sw: number }> => {
    const x = await r.lpa.es10Raw(enableCmd(iccid, refresh));
    return { result: decode(EnableProfileResponse, x.data).enableResult, sw: x.sw };
  };
  const card = async (hex: string): Promise<string> => toHex(await r.euicc.transmit(hx(hex))).toUpperCase();

  it('proactiveRefresh: an enable with refreshFlag answers 910B and leaves the REFRESH for FETCH; a second enable during the proactive session is catBusy (5); after TERMINAL RESPONSE it goes through', async () => {
    r = await rig({ card: { profileChange: { proactiveRefresh: true } } });
    await install(r, A);
    await install(r, B);
    expect(await enableRaw(A, true)).toEqual({ result: 0, sw: 0x910b });
    expect(r.euicc.card.proactiveSessionPending).toBe(true);
    expect(await enableRaw(B, true)).toEqual({ result: 5, sw: 0x910b });
    expect(r.euicc.state.enabledProfile()?.iccid).toBe(A);
    expect(await card('801200000B')).toBe('D0098103010109820281829000');
    expect(await enableRaw(B, true)).toEqual({ result: 5, sw: 0x9000 }); // fetched but not answered: still busy
    expect(await card('801400000C810301010982028281830100')).toBe('9000');
    expect(await enableRaw(B, false)).toEqual({ result: 0, sw: 0x9000 }); // no refreshFlag: no REFRESH
    expect(r.euicc.card.proactiveSessionPending).toBe(false);
    expect(r.euicc.state.enabledProfile()?.iccid).toBe(B);
  });

  it('es10BlockedUntilReset: after an enable (with or without refreshFlag) every ES10 command answers 6985 until the card is reset', async () => {
    r = await rig({ card: { profileChange: { es10BlockedUntilReset: true } } });
    await install(r, A);
    expect(await enableRaw(A, false)).toEqual({ result: 0, sw: 0x9000 });
    expect((await r.lpa.es10Raw(hx('BF2D00'))).sw).toBe(0x6985);
    expect((await r.lpa.es10Raw(hx('BF2800'))).sw).toBe(0x6985);
    await r.euicc.reset();
    await r.lpa.open();
    expect(profilesInfo(await r.lpa.es10(hx('BF2D00'))).map((p) => p.profileState)).toEqual([1]);
    // a disable blocks it again
    expect(decode(DisableProfileResponse, (await r.lpa.es10Raw(encodeRaw(0xbf32, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(A))), ...encodeRaw(0x81, Uint8Array.of(0xff))])))).data)).toEqual({ disableResult: 0 });
    expect((await r.lpa.es10Raw(hx('BF2D00'))).sw).toBe(0x6985);
  });

  it('the default card (both off) keeps answering ES10 after an enable with refreshFlag', async () => {
    r = await rig();
    await install(r, A);
    expect(await enableRaw(A, true)).toEqual({ result: 0, sw: 0x9000 });
    expect((await r.lpa.es10Raw(hx('BF2D00'))).sw).toBe(0x9000);
  });
});
