// ES10 through the bridge, notifications (SGP.22 3.5, 5.7.9 ListNotification, 5.7.10
// RetrieveNotificationsList, 5.7.11 NotificationSent / RemoveNotificationFromList): the
// pending notifications of install, enable, disable and delete operations listed,
// filtered, retrieved with their eUICC signatures and removed through the bridge, with
// every result code reaching the LPA unchanged.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { euiccOf } from '../framework/fixtures.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { Es10Client } from '../../sim/lpa/es10.ts';
import type { NotificationEvent, NotificationMetadata } from '../../sim/rsp/common.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import { DeleteNotificationStatus } from '../../sim/rsp/results.ts';
import { NotificationSentRequest, PendingNotification } from '../../sim/rsp/es10b.ts';
import { toUpperHex } from '../../sim/bytes.ts';
import { checkNotification } from '../../sim/euicc/testing/fixtures.ts';
import { cleanCard, installProfiles, NOTIFY_ADDRESS, onCard, TEST_SMDP_ADDRESS, useSnapshots, withBridge, type InstalledProfile } from './helpers.ts';

const rig = useRig();
const snapshots = useSnapshots();
const group = 'ES10 through the bridge' as const;

/** A notification in comparable form. */
interface Note {
  seqNumber: number;
  operation: string;
  address: string;
  iccid: string | undefined;
}

function note(m: NotificationMetadata): Note {
  return { seqNumber: m.seqNumber, operation: m.profileManagementOperation.join(','), address: m.notificationAddress, iccid: m.iccid ? iccidFromBytes(m.iccid) : undefined };
}

interface Scenario {
  a: InstalledProfile;
  b: InstalledProfile;
  /** the scenario's pending notifications, by seqNumber */
  pending: Note[];
}

/**
 * Profiles A and B installed (notifications for all events to NOTIFY_ADDRESS), A enabled
 * then disabled, B deleted: five pending notifications, one of each kind for A plus the
 * install and delete of B.
 */
function scenario(rt: RigRuntime): Promise<Scenario> {
  return snapshots.restore(rt, 'notifications', () => buildScenario(rt));
}

async function buildScenario(rt: RigRuntime): Promise<Scenario> {
  await cleanCard(rt);
  const [a, b] = await installProfiles(rt, [{}, {}]);
  const pending = await onCard(rt, async (es10) => {
    for (const [what, r] of [
      ['enable A', async () => (await es10.enableProfile({ iccid: a!.iccid })).enableResult],
      ['disable A', async () => (await es10.disableProfile({ iccid: a!.iccid })).disableResult],
      ['delete B', async () => (await es10.deleteProfile({ iccid: b!.iccid })).deleteResult],
    ] as const) {
      const code = await r();
      if (code !== 0) throw new Error(`${what} answered ${code}`);
    }
    const list = await es10.listNotification();
    if (!('notificationMetadataList' in list)) throw new Error(`listNotificationsResultError ${list.listNotificationsResultError}`);
    return list.notificationMetadataList.map(note).filter((n) => n.iccid === a!.iccid || n.iccid === b!.iccid);
  });
  const kinds = pending.map((n) => `${n.operation}:${n.iccid === a!.iccid ? 'A' : 'B'}`);
  expect(kinds).toEqual(['notificationInstall:A', 'notificationInstall:B', 'notificationEnable:A', 'notificationDisable:A', 'notificationDelete:B']);
  return { a: a!, b: b!, pending };
}

async function listed(es10: Es10Client, filter?: NotificationEvent): Promise<NotificationMetadata[]> {
  const r = await es10.listNotification(filter);
  if (!('notificationMetadataList' in r)) throw new Error(`listNotificationsResultError ${r.listNotificationsResultError}`);
  return r.notificationMetadataList;
}

const ours = (s: Scenario) => (n: Note) => n.iccid === s.a.iccid || n.iccid === s.b.iccid;

tc(
  {
    id: 'TC_eUICC_ES10b.ListNotification_All',
    title: 'ListNotification without filter lists every pending notification',
    group,
    iut: 'self',
    purpose: 'The LPA sees every pending notification the eUICC holds, with its sequence number, operation, address and ICCID.',
    requirement: 'SGP.22 5.7.9 ListNotification, 3.5 notifications',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A and B installed; A enabled then disabled; B deleted (5 pending notifications)', 'an ES10 session through the bridge'],
    steps: [
      { action: 'ListNotification (BF28 without filter)', expected: 'BF28 { A0 list }: install A, install B, enable A, disable A, delete B, in increasing seqNumber; install to the SM-DP+ address, the others to ' + NOTIFY_ADDRESS },
      { action: 'compare with the eUICC state (emulated rigs)', expected: 'the same sequence numbers and kinds as the eUICC holds' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    await withBridge(c, rt, async (es10) => {
      const list = await c.step(1, async () => {
        const got = (await listed(es10)).map(note).filter(ours(s));
        expect(got).toEqual(s.pending);
        // install notifications go to the SM-DP+ of the download, the others to the profile's configured address
        expect(got.map((n) => n.address)).toEqual(got.map((n) => (n.operation === 'notificationInstall' ? TEST_SMDP_ADDRESS : NOTIFY_ADDRESS)));
        for (let i = 1; i < got.length; i++) expect(got[i]!.seqNumber).toBeGreaterThan(got[i - 1]!.seqNumber);
        return got;
      });
      await c.step(2, () => {
        if (!c.observe('cardState', 'the notifications stored on the card')) return;
        const state = euiccOf(rt).state.notifications().map((n) => ({ seqNumber: n.seqNumber, kind: n.kind, iccid: n.iccid }));
        expect(state).toEqual(list.map((n) => ({ seqNumber: n.seqNumber, kind: n.operation.replace('notification', '').toLowerCase(), iccid: n.iccid })));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.ListNotification_FilterInstall',
    title: 'ListNotification filtered on notificationInstall lists only the install notifications',
    group,
    iut: 'self',
    purpose: 'The profileManagementOperation filter (a one-byte BIT STRING) crosses the bridge and is applied by the eUICC.',
    requirement: 'SGP.22 5.7.9 (profileManagementOperation filter); NotificationEvent install bit 0x80',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [{ action: 'ListNotification with profileManagementOperation {notificationInstall} (BF28 { 81 02 07 80 })', expected: 'exactly the install notifications of A and B' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const got = (await listed(es10, ['notificationInstall'])).map(note);
        expect(got.filter(ours(s))).toEqual(s.pending.filter((n) => n.operation === 'notificationInstall'));
        expect(got.every((n) => n.operation === 'notificationInstall')).toBe(true);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.ListNotification_FilterOperations',
    title: 'ListNotification filtered on enable, disable and delete lists only that kind',
    group,
    iut: 'self',
    purpose: 'Each operation bit of the filter selects exactly its notifications through the bridge.',
    requirement: 'SGP.22 5.7.9; NotificationEvent bits enable 0x40, disable 0x20, delete 0x10',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [
      { action: 'ListNotification {notificationEnable}', expected: 'exactly the enable notification of A' },
      { action: 'ListNotification {notificationDisable}', expected: 'exactly the disable notification of A' },
      { action: 'ListNotification {notificationDelete}', expected: 'exactly the delete notification of B' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    await withBridge(c, rt, async (es10) => {
      const ops = ['notificationEnable', 'notificationDisable', 'notificationDelete'] as const;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        await c.step(i + 1, async () => {
          const got = (await listed(es10, [op])).map(note);
          expect(got.every((n) => n.operation === op)).toBe(true);
          const mine = got.filter(ours(s));
          expect(mine).toEqual(s.pending.filter((n) => n.operation === op));
          expect(mine.length).toBe(1);
        });
      }
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.RetrieveNotificationsList_BySeqNumber',
    title: 'RetrieveNotificationsList by seqNumber returns that signed notification',
    group,
    iut: 'self',
    purpose: 'The signed notifications (PIR and OtherSignedNotification, with certificates: the largest notification objects) reach the LPA intact.',
    requirement: 'SGP.22 5.7.10 RetrieveNotificationsList (searchCriteria seqNumber); 5.7.6 PIR; OtherSignedNotification',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [
      { action: 'RetrieveNotificationsList {seqNumber of install A}', expected: 'one ProfileInstallationResult (BF37) for A whose euiccSignPIR verifies with the eUICC certificate' },
      { action: 'RetrieveNotificationsList {seqNumber of enable A}', expected: 'one OtherSignedNotification (30) for A, operation enable, signature valid with its eUICC certificate' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    const install = s.pending.find((n) => n.operation === 'notificationInstall' && n.iccid === s.a.iccid)!;
    const enable = s.pending.find((n) => n.operation === 'notificationEnable')!;
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await es10.retrieveNotificationsList({ seqNumber: install.seqNumber });
        if (!('notificationList' in r)) throw new Error(`notificationsListResultError ${r.notificationsListResultError}`);
        expect(r.notificationList.length).toBe(1);
        const n = r.notificationList[0]!;
        if (!('profileInstallationResult' in n)) throw new Error('not a ProfileInstallationResult');
        const der = PendingNotification.encode(n);
        const checked = checkNotification(der, s.a.euiccCertificate);
        expect(checked.kind).toBe('pir');
        expect(checked.signatureValid).toBe(true);
        expect(note(checked.metadata)).toEqual(install);
      });
      await c.step(2, async () => {
        const r = await es10.retrieveNotificationsList({ seqNumber: enable.seqNumber });
        if (!('notificationList' in r)) throw new Error(`notificationsListResultError ${r.notificationsListResultError}`);
        expect(r.notificationList.length).toBe(1);
        const n = r.notificationList[0]!;
        if (!('otherSignedNotification' in n)) throw new Error('not an OtherSignedNotification');
        const der = PendingNotification.encode(n);
        const checked = checkNotification(der);
        expect(checked.kind).toBe('other');
        expect(checked.signatureValid).toBe(true);
        expect(note(checked.metadata)).toEqual(enable);
        expect(toUpperHex(n.otherSignedNotification.euiccCertificate)).toBe(toUpperHex(s.a.euiccCertificate));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.RetrieveNotificationsList_ByEvent',
    title: 'RetrieveNotificationsList by operation returns only that kind',
    group,
    iut: 'self',
    purpose: 'The operation search criterion crosses the bridge and selects the right signed notifications.',
    requirement: 'SGP.22 5.7.10 (searchCriteria profileManagementOperation)',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [
      { action: 'RetrieveNotificationsList {profileManagementOperation notificationDelete}', expected: 'the delete notification of B only, signature valid' },
      { action: 'RetrieveNotificationsList {profileManagementOperation notificationInstall}', expected: 'PIRs only, A and B among them' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await es10.retrieveNotificationsList({ profileManagementOperation: ['notificationDelete'] });
        if (!('notificationList' in r)) throw new Error(`notificationsListResultError ${r.notificationsListResultError}`);
        const checked = r.notificationList.map((n) => checkNotification(PendingNotification.encode(n)));
        expect(checked.every((x) => x.kind === 'other' && x.signatureValid && x.metadata.profileManagementOperation.join() === 'notificationDelete')).toBe(true);
        expect(checked.map((x) => note(x.metadata)).filter(ours(s))).toEqual(s.pending.filter((n) => n.operation === 'notificationDelete'));
      });
      await c.step(2, async () => {
        const r = await es10.retrieveNotificationsList({ profileManagementOperation: ['notificationInstall'] });
        if (!('notificationList' in r)) throw new Error(`notificationsListResultError ${r.notificationsListResultError}`);
        expect(r.notificationList.every((n) => 'profileInstallationResult' in n)).toBe(true);
        const mine = r.notificationList.map((n) => checkNotification(PendingNotification.encode(n), s.a.euiccCertificate)).map((x) => ({ ...note(x.metadata), valid: x.signatureValid }));
        expect(mine.filter(ours(s))).toEqual(s.pending.filter((n) => n.operation === 'notificationInstall').map((n) => ({ ...n, valid: true })));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.RetrieveNotificationsList_All',
    title: 'RetrieveNotificationsList without criteria returns every pending notification',
    group,
    iut: 'self',
    purpose: 'The full list (several KB: each OtherSignedNotification carries two certificates) reaches the LPA intact.',
    requirement: 'SGP.22 5.7.10 (no searchCriteria)',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [{ action: 'RetrieveNotificationsList (BF2B without criteria)', expected: 'the five notifications in seqNumber order, each signature valid' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const raw = await es10.storeData(Uint8Array.of(0xbf, 0x2b, 0x00), 'ES10b.RetrieveNotificationsList');
        expect(raw.length).toBeGreaterThan(2000);
        const r = await es10.retrieveNotificationsList();
        if (!('notificationList' in r)) throw new Error(`notificationsListResultError ${r.notificationsListResultError}`);
        const got = r.notificationList.map((n) => checkNotification(PendingNotification.encode(n), s.a.euiccCertificate));
        expect(got.every((x) => x.signatureValid)).toBe(true);
        expect(got.map((x) => note(x.metadata)).filter(ours(s))).toEqual(s.pending);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.NotificationSent_Ok',
    title: 'NotificationSent removes the notification: ok (0)',
    group,
    iut: 'self',
    purpose: 'The removal after delivery reaches the eUICC and its result the LPA.',
    requirement: 'SGP.22 5.7.11 RemoveNotificationFromList (NotificationSent, deleteNotificationStatus ok 0)',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [
      { action: 'NotificationSent {seqNumber of install A}', expected: 'BF30 { 80 01 00 }: ok' },
      { action: 'ListNotification', expected: 'the four other notifications remain, install A is gone (also from the eUICC state)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    const install = s.pending.find((n) => n.operation === 'notificationInstall' && n.iccid === s.a.iccid)!;
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const raw = await es10.storeData(NotificationSentRequest.encode({ seqNumber: install.seqNumber }), 'ES10b.NotificationSent');
        expect(toUpperHex(raw)).toBe('BF3003800100');
      });
      await c.step(2, async () => {
        expect((await listed(es10)).map(note).filter(ours(s))).toEqual(s.pending.filter((n) => n.seqNumber !== install.seqNumber));
        if (c.observe('cardState', 'the notifications stored on the card')) expect(euiccOf(rt).state.notifications().map((n) => n.seqNumber)).not.toContain(install.seqNumber);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.NotificationSent_NothingToDelete',
    title: 'NotificationSent for a seqNumber that is not pending: nothingToDelete (1)',
    group,
    iut: 'self',
    purpose: 'The nothingToDelete status reaches the LPA unchanged and nothing is removed.',
    requirement: 'SGP.22 5.7.11 (deleteNotificationStatus nothingToDelete 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['the five pending notifications of ListNotification_All', 'an ES10 session through the bridge'],
    steps: [
      { action: 'NotificationSent {seqNumber above every pending one}', expected: 'BF30 { 80 01 01 }: nothingToDelete' },
      { action: 'NotificationSent {seqNumber of delete B} twice', expected: 'ok (0) then nothingToDelete (1)' },
      { action: 'ListNotification', expected: 'only delete B is gone' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('five pending notifications', () => scenario(rt));
    const del = s.pending.find((n) => n.operation === 'notificationDelete')!;
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const all = (await listed(es10)).map((m) => m.seqNumber);
        const unknown = Math.max(...all, ...s.pending.map((n) => n.seqNumber)) + 100;
        const r = await es10.notificationSent(unknown);
        expect(r.deleteNotificationStatus).toBe(DeleteNotificationStatus.nothingToDelete);
      });
      await c.step(2, async () => {
        expect((await es10.notificationSent(del.seqNumber)).deleteNotificationStatus).toBe(DeleteNotificationStatus.ok);
        const raw = await es10.storeData(NotificationSentRequest.encode({ seqNumber: del.seqNumber }), 'ES10b.NotificationSent');
        expect(toUpperHex(raw)).toBe('BF3003800101');
      });
      await c.step(3, async () => {
        expect((await listed(es10)).map(note).filter(ours(s))).toEqual(s.pending.filter((n) => n.seqNumber !== del.seqNumber));
      });
    });
  },
);
