// Every GSMA TS.48 test profile of sim/smdp/profiles, downloaded through the real APDU
// path (GetEUICCChallenge -> AuthenticateServer -> PrepareDownload -> LoadBPP by
// STORE DATA sequences, bound as an SM-DP+ does), then listed, enabled, disabled and
// deleted, with the notifications each step produces checked end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { decode } from '../rsp/der.ts';
import { RetrieveNotificationsListResponse, NotificationSentResponse } from '../rsp/es10b.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { readProfile } from '../saip/profile.ts';
import { encodeEfImsi } from '../saip/ef-imsi.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { loadCert } from '../../certs/store.ts';
import { ALL_EVENTS, checkNotification, NOTIFY_ADDRESS, pirError, rig, ts48, TS48_FILES, type Rig } from './testing/fixtures.ts';
import { encodeRaw } from './testing/smdp-binder.ts';

let r: Rig;
afterEach(async () => {
  await r?.euicc.close();
});

describe('TS.48 profiles: install, list, enable, disable, delete', () => {
  it('all 18 packages are present', () => {
    expect(TS48_FILES.length).toBe(18);
  });

  it.each(TS48_FILES.map((f, i) => [f, i % 2 === 0 ? 'P-256' : 'brainpoolP256r1'] as const))('%s (%s)', async (file, curve) => {
    r = await rig({}, { blockSize: file.includes('v5') ? 255 : 120 }, { curve });
    const upp = ts48(file);
    const summary = readProfile(upp);
    const iccid = summary.iccid;
    const euiccCert = loadCert(curve === 'P-256' ? 'EUICC_NIST' : 'EUICC_BRP').der;

    // install
    const res = await r.lpa.download(r.smdp, upp, { metadata: { iccid, profileClass: 0, notificationConfigurationInfo: [{ events: ALL_EVENTS, address: NOTIFY_ADDRESS }] } });
    expect(pirError(res.pirDer)).toBeUndefined();
    const pir = checkNotification(res.pirDer, euiccCert);
    expect(pir.signatureValid).toBe(true);
    expect(pir.metadata).toEqual({ seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: r.smdp.address, iccid: iccidToBytes(iccid) });

    // list
    const [info, ...rest] = await r.lpa.profiles();
    expect(rest).toEqual([]);
    expect(info).toMatchObject({ iccid: iccidToBytes(iccid), profileState: 0, profileClass: 0, isdpAid: hexToBytes('A0000005591010FFFFFFFF8900001000') });
    const snap = r.euicc.state.profile(iccid)!;
    expect(snap).toMatchObject({ imsi: summary.imsi, usimAid: summary.usimAid!.toUpperCase(), profileType: 'GSMA Generic eUICC Test Profile', size: upp.length + 2048 });

    // enable: the card shows the profile's EF.ICCID and EF.IMSI
    expect(await r.lpa.enable(iccid)).toBe(0);
    expect(toHex(await r.euicc.transmit(hexToBytes('00A4080C022FE2')))).toBe('9000');
    expect(toHex(await r.euicc.transmit(hexToBytes('00B000000A')))).toBe(toHex(iccidToBytes(iccid)) + '9000');
    const aid = summary.usimAid!;
    expect(toHex(await r.euicc.transmit(hexToBytes(`00A4040C${(aid.length / 2).toString(16).padStart(2, '0')}${aid}`)))).toBe('9000');
    expect(toHex(await r.euicc.transmit(hexToBytes('00A4000C026F07')))).toBe('9000');
    expect(toHex(await r.euicc.transmit(hexToBytes('00B0000009')))).toBe(toHex(encodeEfImsi(summary.imsi!)) + '9000');

    // disable, delete
    expect(await r.lpa.disable(iccid)).toBe(0);
    expect(await r.lpa.delete(iccid)).toBe(0);
    expect(await r.lpa.profiles()).toEqual([]);
    expect(r.euicc.state.memory().used).toBe(0);

    // notifications: seqNumbers, events, addresses, signatures (retrieved through ES10b)
    const list = await r.lpa.listNotifications();
    expect(list.map((n) => [n.seqNumber, n.profileManagementOperation[0], n.notificationAddress, toHex(n.iccid!)])).toEqual([
      [1, 'notificationInstall', r.smdp.address, toHex(iccidToBytes(iccid))],
      [2, 'notificationEnable', NOTIFY_ADDRESS, toHex(iccidToBytes(iccid))],
      [3, 'notificationDisable', NOTIFY_ADDRESS, toHex(iccidToBytes(iccid))],
      [4, 'notificationDelete', NOTIFY_ADDRESS, toHex(iccidToBytes(iccid))],
    ]);
    const retrieved = decode(RetrieveNotificationsListResponse, await r.lpa.es10(hexToBytes('BF2B00')));
    if (!('notificationList' in retrieved)) throw new Error('RetrieveNotificationsList error');
    const ders = r.euicc.state.notifications().map((n) => n.der);
    expect(retrieved.notificationList.length).toBe(4);
    for (const [i, der] of ders.entries()) {
      const c = checkNotification(der, euiccCert);
      expect(c.signatureValid, `notification ${i + 1}`).toBe(true);
      expect(c.metadata.seqNumber).toBe(i + 1);
      expect(c.kind).toBe(i === 0 ? 'pir' : 'other');
    }
    for (const seq of [1, 2, 3, 4]) {
      const sent = decode(NotificationSentResponse, await r.lpa.es10(encodeRaw(0xbf30, encodeRaw(0x80, Uint8Array.of(seq)))));
      expect(sent.deleteNotificationStatus).toBe(0);
    }
    expect(await r.lpa.listNotifications()).toEqual([]);
    expect(r.euicc.card.internalErrors).toEqual([]);
  });
});
