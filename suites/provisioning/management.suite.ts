// Provisioning through the bridge: local profile management of a downloaded profile
// (SGP.22 3.2, ES10c 5.7.16-5.7.21) and the notifications it produces (3.5; ES10b
// ListNotification 5.7.9, RetrieveNotificationsList 5.7.10, NotificationSent 5.7.11;
// ES9+.HandleNotification 5.6.4): every operation goes through the bridge and every
// notification must arrive at the SM-DP+ signed by the eUICC and be accepted there.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { CaseRun } from '../framework/case.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { EuiccResultError, Es9TransportError } from '../../sim/lpa/errors.ts';
import type { Lpa } from '../../sim/lpa/flows.ts';
import type { OrderResult } from '../../sim/smdp/server.ts';
import { PROFILE_STATE, iccidsOf, orderProfile, profileInfoOf, rejectsWith, smdpOf, smdpState, withLpa, withCleanRig, euiccOf } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Provisioning through the bridge' as const;

/** Setup shared by the cases: a clean card with one downloaded profile (install notification delivered). */
async function installed(c: CaseRun, rt: RigRuntime, lpa: Lpa, how: { notifications?: 'process' | 'leave' } = {}): Promise<OrderResult> {
  return c.setup('one profile downloaded through the bridge', async () => {
    const order = orderProfile(rt);
    const r = await lpa.downloadProfile(order.activationCode, { notifications: how.notifications ?? 'process' });
    expect(r.iccid).toBe(order.iccid);
    return order;
  });
}

/** Notifications the SM-DP+ accepted for an ICCID, as [kind/operations, accepted]. */
function received(rt: RigRuntime, iccid: string): string[] {
  return smdpOf(rt)
    .state.notifications()
    .filter((n) => n.iccid === iccid)
    .map((n) => `${n.operations.join('+')}:${n.accepted ? 'accepted' : `rejected(${n.rejection ?? '?'})`}`);
}

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.EnableProfile_NotificationDelivered',
    title: 'enabling a profile through the bridge sends a signed enable notification that the SM-DP+ accepts',
    group,
    iut: 'bridge',
    purpose: 'EnableProfile and the notification round trip (ListNotification, RetrieveNotificationsList, HandleNotification, NotificationSent) through the bridge.',
    requirement: 'SGP.22 3.2.1 Enable Profile, 5.7.16 EnableProfile, 3.5 notifications, 5.6.4 HandleNotification',
    initialConditions: ['clean eUICC with one disabled profile downloaded (install notification delivered)'],
    steps: [
      { action: 'EnableProfile by ICCID, then process the notifications', expected: 'enableResult ok; one notification delivered and removed, operation enable, for the ICCID' },
      { action: 'list the profiles', expected: 'the profile is Enabled' },
      { action: 'check the SM-DP+', expected: 'it received install then enable for the ICCID, both accepted (signature and eUICC certificate verified)' },
      { action: 'list the notifications', expected: 'none pending' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa);
        await c.step(1, async () => {
          const sent = await lpa.enableProfile({ iccid: order.iccid }, { notifications: 'process' });
          expect(sent.map((s) => ({ op: s.operation, iccid: s.iccid, delivered: s.delivered, removed: s.removed, address: s.notificationAddress }))).toEqual([
            { op: ['notificationEnable'], iccid: order.iccid, delivered: true, removed: true, address: smdpOf(rt).address },
          ]);
        });
        await c.step(2, async () => expect(profileInfoOf(await lpa.listProfiles(), order.iccid)?.profileState).toBe(PROFILE_STATE.enabled));
        await c.step(3, () => expect(received(rt, order.iccid)).toEqual(['install:accepted', 'enable:accepted']));
        await c.step(4, async () => expect(await lpa.listNotifications()).toEqual([]));
        if (c.observe('cardState', 'the enabled profile on the card')) expect(euiccOf(rt).state.enabledProfile()?.iccid).toBe(order.iccid);
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.DisableProfile_NotificationDelivered',
    title: 'disabling the enabled profile through the bridge sends a disable notification that the SM-DP+ accepts',
    group,
    iut: 'bridge',
    purpose: 'DisableProfile and its notification through the bridge.',
    requirement: 'SGP.22 3.2.2 Disable Profile, 5.7.17 DisableProfile, 3.5, 5.6.4',
    initialConditions: ['clean eUICC with one profile downloaded and enabled (notifications delivered)'],
    steps: [
      { action: 'DisableProfile by ISD-P AID, then process the notifications', expected: 'disableResult ok; one disable notification delivered and removed' },
      { action: 'list the profiles', expected: 'the profile is Disabled, no profile enabled' },
      { action: 'check the SM-DP+', expected: 'install, enable, disable received for the ICCID, all accepted' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa);
        const aid = await c.setup('profile enabled', async () => {
          await lpa.enableProfile({ iccid: order.iccid }, { notifications: 'process' });
          return profileInfoOf(await lpa.listProfiles(), order.iccid)!.isdpAid!;
        });
        await c.step(1, async () => {
          const sent = await lpa.disableProfile({ isdpAid: aid }, { notifications: 'process' });
          expect(sent.map((s) => ({ op: s.operation, iccid: s.iccid, delivered: s.delivered, removed: s.removed }))).toEqual([
            { op: ['notificationDisable'], iccid: order.iccid, delivered: true, removed: true },
          ]);
        });
        await c.step(2, async () => {
          const list = await lpa.listProfiles();
          expect(profileInfoOf(list, order.iccid)?.profileState).toBe(PROFILE_STATE.disabled);
          expect(list.filter((p) => p.profileState === PROFILE_STATE.enabled)).toEqual([]);
        });
        await c.step(3, () => expect(received(rt, order.iccid)).toEqual(['install:accepted', 'enable:accepted', 'disable:accepted']));
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.DeleteProfile_NotificationDelivered',
    title: 'deleting a profile through the bridge removes it and sends a delete notification that the SM-DP+ accepts',
    group,
    iut: 'bridge',
    purpose: 'DeleteProfile and its notification through the bridge; the memory comes back.',
    requirement: 'SGP.22 3.2.3 Delete Profile, 5.7.18 DeleteProfile, 3.5, 5.6.4',
    initialConditions: ['clean eUICC with one disabled profile downloaded'],
    steps: [
      { action: 'DeleteProfile by ICCID, then process the notifications', expected: 'deleteResult ok; one delete notification delivered and removed' },
      { action: 'list the profiles', expected: 'the ICCID is gone' },
      { action: 'check the SM-DP+ and the card memory', expected: 'install and delete received and accepted; the free NVM back to what it was before the download' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const freeBefore = rt.euicc?.state.memory().free;
        const order = await installed(c, rt, lpa);
        await c.step(1, async () => {
          const sent = await lpa.deleteProfile({ iccid: order.iccid }, { notifications: 'process' });
          expect(sent.map((s) => ({ op: s.operation, iccid: s.iccid, delivered: s.delivered, removed: s.removed }))).toEqual([
            { op: ['notificationDelete'], iccid: order.iccid, delivered: true, removed: true },
          ]);
        });
        await c.step(2, async () => expect(iccidsOf(await lpa.listProfiles())).not.toContain(order.iccid));
        await c.step(3, () => {
          expect(received(rt, order.iccid)).toEqual(['install:accepted', 'delete:accepted']);
          if (c.observe('cardState', "the card's free memory")) expect(euiccOf(rt).state.memory().free).toBe(freeBefore);
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.SetNickname_Persisted',
    title: 'a nickname set through the bridge is stored, read back, and removed with an empty one',
    group,
    iut: 'bridge',
    purpose: 'SetNickname with UTF-8 text crosses the bridge byte for byte.',
    requirement: 'SGP.22 5.7.21 SetNickname, 5.7.15 GetProfilesInfo (profileNickname 90)',
    initialConditions: ['clean eUICC with one profile downloaded'],
    steps: [
      { action: "SetNickname 'Büro SIM ✓' for the ICCID", expected: 'setNicknameResult ok' },
      { action: 'GetProfilesInfo', expected: "profileNickname 'Büro SIM ✓'" },
      { action: 'SetNickname with an empty nickname', expected: 'ok; GetProfilesInfo has no nickname for the profile' },
      { action: 'SetNickname for an ICCID that is not installed', expected: 'setNicknameResult iccidNotFound (1)' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const nick = 'Büro SIM ✓';
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa);
        await c.step(1, () => lpa.setNickname(order.iccid, nick));
        await c.step(2, async () => {
          expect(profileInfoOf(await lpa.listProfiles(), order.iccid)?.profileNickname).toBe(nick);
          if (c.observe('cardState', 'the nickname stored on the card')) expect(euiccOf(rt).state.profile(order.iccid)?.nickname).toBe(nick);
        });
        await c.step(3, async () => {
          await lpa.setNickname(order.iccid, '');
          expect(profileInfoOf(await lpa.listProfiles(), order.iccid)?.profileNickname).toBeUndefined();
        });
        await c.step(4, async () => {
          const err = await rejectsWith(lpa.setNickname('89049032000000000006', 'x'), EuiccResultError);
          expect([err.fn, err.code]).toEqual(['ES10c.SetNickname', 1]);
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10b.ListNotification_Operations',
    title: 'pending notifications of install, enable and disable are listed in sequence and filtered by operation',
    group,
    iut: 'bridge',
    purpose: 'ListNotification with and without a filter, and RetrieveNotificationsList by sequence number, through the bridge.',
    requirement: 'SGP.22 3.5 (sequence numbers), 5.7.9 ListNotification, 5.7.10 RetrieveNotificationsList',
    initialConditions: ['clean eUICC; a profile downloaded, enabled and disabled, every notification left pending'],
    steps: [
      { action: 'ListNotification without filter', expected: 'three notifications for the ICCID: install, enable, disable, with strictly increasing sequence numbers, all addressed to the SM-DP+' },
      { action: 'ListNotification filtered on enable', expected: 'only the enable notification' },
      { action: 'RetrieveNotificationsList by the sequence number of the disable notification', expected: 'exactly one OtherSignedNotification, the one stored by the card' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa, { notifications: 'leave' });
        await c.setup('enable and disable, notifications pending', async () => {
          await lpa.enableProfile({ iccid: order.iccid });
          await lpa.disableProfile({ iccid: order.iccid });
        });
        const list = await c.step(1, async () => {
          const list = await lpa.listNotifications();
          expect(list.map((n) => n.profileManagementOperation)).toEqual([['notificationInstall'], ['notificationEnable'], ['notificationDisable']]);
          expect(list.every((n) => n.notificationAddress === smdpOf(rt).address)).toBe(true);
          const seqs = list.map((n) => n.seqNumber);
          expect(seqs[1]!).toBeGreaterThan(seqs[0]!);
          expect(seqs[2]!).toBeGreaterThan(seqs[1]!);
          return list;
        });
        await c.step(2, async () => {
          const only = await lpa.listNotifications(['notificationEnable']);
          expect(only.map((n) => n.seqNumber)).toEqual([list[1]!.seqNumber]);
        });
        await c.step(3, async () => {
          const r = await lpa.es10.retrieveNotificationsList({ seqNumber: list[2]!.seqNumber });
          expect('notificationList' in r).toBe(true);
          if (!('notificationList' in r)) return;
          expect(r.notificationList.length).toBe(1);
          expect('otherSignedNotification' in r.notificationList[0]!).toBe(true);
          if (c.observe('cardState', 'the notification stored on the card')) {
            const stored = euiccOf(rt).state.notifications().find((n) => n.seqNumber === list[2]!.seqNumber)!;
            expect(stored.kind).toBe('disable');
          }
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10b.ProcessNotifications_AllDelivered',
    title: 'processing pending notifications delivers them in sequence order and the SM-DP+ accepts each',
    group,
    iut: 'bridge',
    purpose: 'Deferred notification delivery (as an LPA does when it gets connectivity back) through the bridge.',
    requirement: 'SGP.22 3.5, 5.7.10-5.7.11, 5.6.4; 3.1.6 (Installed once the PIR arrives)',
    initialConditions: ['clean eUICC; a profile downloaded, enabled and disabled, every notification left pending'],
    steps: [
      { action: 'process the notifications', expected: 'three delivered and removed in sequence order: install, enable, disable' },
      { action: 'check the SM-DP+', expected: 'install (PIR success), enable, disable received in that order, all accepted; entry Installed' },
      { action: 'list the notifications', expected: 'none pending' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa, { notifications: 'leave' });
        await c.setup('enable and disable, notifications pending', async () => {
          await lpa.enableProfile({ iccid: order.iccid });
          await lpa.disableProfile({ iccid: order.iccid });
          expect(smdpState(rt, order.iccid)).toBe('Downloaded');
        });
        await c.step(1, async () => {
          const done = await lpa.processNotifications();
          expect(done.map((d) => [d.operation[0], d.delivered, d.removed])).toEqual([
            ['notificationInstall', true, true],
            ['notificationEnable', true, true],
            ['notificationDisable', true, true],
          ]);
          const seqs = done.map((d) => d.seqNumber);
          expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        });
        await c.step(2, () => {
          expect(received(rt, order.iccid)).toEqual(['install:accepted', 'enable:accepted', 'disable:accepted']);
          expect(smdpOf(rt).state.notifications().find((n) => n.iccid === order.iccid && n.kind === 'profileInstallationResult')?.result).toBe('success');
          expect(smdpState(rt, order.iccid)).toBe('Installed');
        });
        await c.step(3, async () => expect(await lpa.listNotifications()).toEqual([]));
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10b.NotificationSent_RemoveOne',
    title: 'NotificationSent removes exactly the named notification; a second removal answers nothingToDelete',
    group,
    iut: 'bridge',
    purpose: 'The LPA can drop one pending notification (e.g. after delivering it by another path) through the bridge.',
    requirement: 'SGP.22 5.7.11 NotificationSent / RemoveNotificationFromList (ok 0, nothingToDelete 1)',
    initialConditions: ['clean eUICC; a profile downloaded and enabled, both notifications pending'],
    steps: [
      { action: 'NotificationSent with the sequence number of the install notification', expected: 'deleteNotificationStatus ok' },
      { action: 'ListNotification', expected: 'only the enable notification is left' },
      { action: 'NotificationSent with the same sequence number again', expected: 'deleteNotificationStatus nothingToDelete (1)' },
      { action: 'check the SM-DP+', expected: 'no notification for the ICCID was delivered' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const order = await installed(c, rt, lpa, { notifications: 'leave' });
        const [install, enable] = await c.setup('enable, two notifications pending', async () => {
          await lpa.enableProfile({ iccid: order.iccid });
          const l = await lpa.listNotifications();
          expect(l.length).toBe(2);
          return l;
        });
        await c.step(1, () => lpa.removeNotification(install!.seqNumber));
        await c.step(2, async () => expect((await lpa.listNotifications()).map((n) => n.seqNumber)).toEqual([enable!.seqNumber]));
        await c.step(3, async () => {
          const err = await rejectsWith(lpa.removeNotification(install!.seqNumber), EuiccResultError);
          expect([err.fn, err.code]).toEqual(['ES10b.NotificationSent', 1]);
        });
        await c.step(4, () => expect(received(rt, order.iccid)).toEqual([]));
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.HandleNotification_DeliveryRetried',
    title: 'an install notification the SM-DP+ could not take (HTTP 500) stays pending and is delivered later',
    group,
    iut: 'self', // the test LPA's delivery retry and the SM-DP+ decide
    purpose: 'A failed delivery must not remove the notification from the eUICC (NotificationSent only after success).',
    requirement: 'SGP.22 3.5 (the LPA removes a notification only after it was delivered), 5.6.4, 5.7.11',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ answers HTTP 500 to handleNotification'],
    steps: [
      { action: 'download the profile (notification processed right away)', expected: 'the profile is installed; the notification delivery failed with HTTP 500 and it was not removed' },
      { action: 'check the eUICC and SM-DP+', expected: 'the install notification still pending on the card; SM-DP+ entry Downloaded' },
      { action: 'the SM-DP+ recovers; process the notifications', expected: 'delivered and removed; SM-DP+ entry Installed' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      await c.setup('SM-DP+ answers HTTP 500 to handleNotification', () => smdpOf(rt).control.update({ http500: true, functions: ['handleNotification'] }));
      await withLpa(rt, async (lpa) => {
        await c.step(1, async () => {
          const r = await lpa.downloadProfile(order.activationCode);
          expect(r.iccid).toBe(order.iccid);
          expect(r.notification).toMatchObject({ delivered: false, removed: false });
          expect(r.notification?.error).toBeInstanceOf(Es9TransportError);
          expect((r.notification!.error as Es9TransportError).details.httpStatus).toBe(500);
        });
        await c.step(2, async () => {
          expect((await lpa.listNotifications()).map((n) => n.profileManagementOperation)).toEqual([['notificationInstall']]);
          expect(smdpState(rt, order.iccid)).toBe('Downloaded');
        });
        await c.step(3, async () => {
          await smdpOf(rt).control.reset();
          const done = await lpa.processNotifications();
          expect(done.map((d) => [d.delivered, d.removed])).toEqual([[true, true]]);
          expect(smdpState(rt, order.iccid)).toBe('Installed');
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.eUICCMemoryReset_OperationalProfiles',
    title: 'eUICCMemoryReset through the bridge deletes every operational profile, the enabled one included, without notifications',
    group,
    iut: 'bridge',
    purpose: 'The reset command crosses the bridge and the card is left empty; nothing is sent to the SM-DP+.',
    requirement: 'SGP.22 3.2.7 / 5.7.19 eUICCMemoryReset (deleteOperationalProfiles; ok 0, nothingToDelete 1)',
    initialConditions: ['clean eUICC with two profiles downloaded (notifications delivered), one of them enabled'],
    steps: [
      { action: 'eUICCMemoryReset deleteOperationalProfiles', expected: 'resetResult ok' },
      { action: 'list profiles and notifications', expected: 'no profile; no notification produced by the reset' },
      { action: 'eUICCMemoryReset deleteOperationalProfiles again', expected: 'resetResult nothingToDelete (1)' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const a = await installed(c, rt, lpa);
        await installed(c, rt, lpa);
        await c.setup('first profile enabled', () => lpa.enableProfile({ iccid: a.iccid }, { notifications: 'process' }));
        const seqBefore = rt.euicc?.state.lastSeqNumber();
        await c.step(1, () => lpa.memoryReset(['deleteOperationalProfiles']));
        await c.step(2, async () => {
          expect(await lpa.listProfiles()).toEqual([]);
          expect(await lpa.listNotifications()).toEqual([]);
          if (c.observe('cardState', "the card's sequence counter and enabled profile")) {
            expect(euiccOf(rt).state.lastSeqNumber()).toBe(seqBefore);
            expect(euiccOf(rt).state.enabledProfile()).toBeUndefined();
          }
        });
        await c.step(3, async () => {
          const err = await rejectsWith(lpa.memoryReset(['deleteOperationalProfiles']), EuiccResultError);
          expect([err.fn, err.code]).toEqual(['ES10c.eUICCMemoryReset', 1]);
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES10c.eUICCMemoryReset_DefaultSmdpAddress',
    title: 'a default SM-DP+ address set through the bridge is restored to the factory value by eUICCMemoryReset',
    group,
    iut: 'bridge',
    purpose: 'SetDefaultDpAddress and the resetDefaultSmdpAddress option through the bridge.',
    requirement: 'SGP.22 5.7.4 SetDefaultDpAddress, 5.7.3 GetEuiccConfiguredAddresses, 5.7.19 (resetDefaultSmdpAddress)',
    initialConditions: ['clean eUICC whose factory default SM-DP+ address is the rig SM-DP+'],
    steps: [
      { action: "SetDefaultDpAddress 'smdp.other.example.com'", expected: 'ok; GetEuiccConfiguredAddresses answers it' },
      { action: 'eUICCMemoryReset resetDefaultSmdpAddress', expected: 'resetResult ok' },
      { action: 'GetEuiccConfiguredAddresses', expected: 'the factory address (the rig SM-DP+) again; the root SM-DS unchanged' },
    ],
    requires: ['embeddedSmdp', 'emulatedEuicc'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const before = await c.setup('factory addresses', () => lpa.configuredAddresses());
        await c.step(1, async () => {
          await lpa.setDefaultDpAddress('smdp.other.example.com');
          expect((await lpa.configuredAddresses()).defaultDpAddress).toBe('smdp.other.example.com');
        });
        await c.step(2, () => lpa.memoryReset(['resetDefaultSmdpAddress']));
        await c.step(3, async () => {
          const after = await lpa.configuredAddresses();
          expect(after.defaultDpAddress).toBe(smdpOf(rt).address);
          expect(after.rootDsAddress).toBe(before.rootDsAddress);
        });
      });
    });
  },
);
