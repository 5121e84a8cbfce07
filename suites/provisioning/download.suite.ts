// Provisioning through the bridge: profile download by the test LPA over the bridge under
// test (SGP.22 3.1.3): by Activation Code (4.1) with and without Confirmation Code
// (3.1.3.1 / 5.6.2 hashCc, 8.2.7 status codes), from the default SM-DP+ (3.1.3.2), by
// SM-DS event (3.1.3.3, ES11 5.8, ES12 event registration), and the SM-DP+ inventory
// state once the install notification is delivered (3.1.6, 5.6.4).
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { parseActivationCode } from '../../sim/rsp/activation-code.ts';
import { ConfirmationCodeRequiredError, Es9Error } from '../../sim/lpa/errors.ts';
import type { Lpa } from '../../sim/lpa/flows.ts';
import { decode } from '../../sim/rsp/der.ts';
import { AuthenticateServerResponse } from '../../sim/rsp/es10b.ts';
import { PROFILE_STATE, RecordingEs9p, es9Client, cleanRig, euiccOf, iccidsOf, profileInfoOf, expectNoOpenLogicalChannel, expectNoProfile, orderProfile, pirError, rejectsWith, restoreRig, smdpOf, smdpState, withLpa, withCleanRig } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Provisioning through the bridge' as const;

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_ActivationCode',
    title: 'a profile is downloaded and installed with an Activation Code through the bridge',
    group,
    iut: 'bridge',
    purpose: 'The basic consumer provisioning path works end to end through the bridge: every ES10b APDU of the download, the BPP included, crosses the bridge intact.',
    requirement: 'SGP.22 3.1.3 Profile Download and Installation, 4.1 Activation Code, 5.6.1-5.6.4, 5.7.5-5.7.7, 5.7.13',
    initialConditions: ['clean eUICC behind the modem', 'a released download order (no EID, no confirmation code) at the SM-DP+'],
    steps: [
      { action: 'parse the Activation Code', expected: 'format 1, the SM-DP+ address of the rig, the MatchingID of the order, no confirmation code required' },
      { action: 'download the profile with the Activation Code and deliver the install notification', expected: 'ProfileInstallationResult successResult with the ICCID of the order, install notification delivered and removed' },
      { action: 'list the profiles through the bridge', expected: 'the ICCID is installed, Disabled, with the metadata of the order' },
      { action: 'check the SM-DP+', expected: 'inventory entry Installed, one accepted PIR with result success for this ICCID' },
      { action: 'check the card', expected: 'no pending notification, no BPP in progress, no logical channel left open by the LPA' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      await c.step(1, () => {
        const ac = parseActivationCode(order.activationCode);
        expect(ac).toEqual({ format: 1, smdpAddress: smdpOf(rt).address, matchingId: order.matchingId, confirmationCodeRequired: false });
      });
      await withLpa(rt, async (lpa) => {
        const r = await c.step(2, async () => {
          const r = await lpa.downloadProfile(order.activationCode);
          expect(r.iccid).toBe(order.iccid);
          expect('successResult' in r.profileInstallationResult.profileInstallationResultData.finalResult).toBe(true);
          expect(r.notification).toMatchObject({ delivered: true, removed: true, operation: ['notificationInstall'], iccid: order.iccid });
          return r;
        });
        await c.step(3, async () => {
          const list = await lpa.listProfiles();
          const p = profileInfoOf(list, order.iccid);
          expect(p).toBeDefined();
          expect(Buffer.from(p!.isdpAid ?? []).equals(Buffer.from(r.isdpAid))).toBe(true);
          expect(p!.profileState).toBe(PROFILE_STATE.disabled);
          expect(p!.serviceProviderName).toBe(r.metadata.serviceProviderName);
          expect(p!.profileName).toBe(r.metadata.profileName);
        });
      });
      await c.step(4, () => {
        expect(smdpState(rt, order.iccid)).toBe('Installed');
        const pirs = smdpOf(rt).state.notifications().filter((n) => n.kind === 'profileInstallationResult' && n.iccid === order.iccid);
        expect(pirs.map((n) => ({ accepted: n.accepted, result: n.result }))).toEqual([{ accepted: true, result: 'success' }]);
      });
      await c.step(5, () => {
        if (!c.observe('cardState', "the card's notifications, profile state and BPP")) return;
        expect(euiccOf(rt).state.notifications()).toEqual([]);
        expect(euiccOf(rt).state.profile(order.iccid)?.state).toBe('disabled');
        expect(euiccOf(rt).state.bppInProgress()).toBeUndefined();
        expectNoOpenLogicalChannel(c, rt);
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_ConfirmationCode',
    title: 'a download whose order requires a confirmation code succeeds with the right code',
    group,
    iut: 'bridge',
    purpose: 'The LPA hashes the confirmation code with the transactionId into PrepareDownload (hashCc); the bridge carries it to the eUICC and the SM-DP+ accepts it.',
    requirement: 'SGP.22 3.1.3.1 (confirmation code), 5.7.5 PrepareDownload hashCc, 5.6.2 GetBoundProfilePackage',
    initialConditions: ['clean eUICC', 'a released order with confirmation code 4711'],
    steps: [
      { action: 'check the Activation Code', expected: 'the confirmation-code-required field is 1' },
      { action: 'download with confirmation code 4711', expected: 'installed with the ICCID of the order; the LPA asked for the code because ccRequiredFlag was set' },
      { action: 'check the SM-DP+', expected: 'entry Installed, no wrong confirmation code counted' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order with a confirmation code', () => orderProfile(rt, { confirmationCode: '4711' }));
      await c.step(1, () => expect(parseActivationCode(order.activationCode).confirmationCodeRequired).toBe(true));
      await c.step(2, () =>
        withLpa(rt, async (lpa) => {
          let asked = 0;
          const r = await lpa.downloadProfile(order.activationCode, {
            confirmationCode: () => {
              asked++;
              return '4711';
            },
          });
          expect(asked).toBe(1);
          expect(r.iccid).toBe(order.iccid);
          expect(r.notification?.delivered).toBe(true);
        }),
      );
      await c.step(3, () => {
        expect(smdpState(rt, order.iccid)).toBe('Installed');
        expect(smdpOf(rt).state.order(order.iccid)?.ccAttempts).toBe(0);
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_WrongConfirmationCode',
    title: 'a wrong confirmation code is refused (8.2.7/3.8), nothing is installed, and a retry with the right code succeeds',
    group,
    iut: 'self', // the SM-DP+'s confirmation-code check decides
    purpose: 'A wrong code ends the attempt at GetBoundProfilePackage without touching the eUICC content; the order stays downloadable for a retry.',
    requirement: 'SGP.22 5.6.2 GetBoundProfilePackage (Confirmation Code refused 8.2.7/3.8), 3.1.3 retry',
    initialConditions: ['clean eUICC', 'a released order with confirmation code 4711 (3 attempts allowed)'],
    steps: [
      { action: 'download with confirmation code 1234', expected: 'ES9+.GetBoundProfilePackage Failed with subject 8.2.7 reason 3.8' },
      { action: 'check the eUICC and SM-DP+', expected: 'nothing installed, no BPP in progress, no install notification; the order still Released with one wrong attempt counted' },
      { action: 'download again with the same Activation Code and 4711', expected: 'installed with the ICCID of the order; SM-DP+ entry Installed' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order with a confirmation code', () => orderProfile(rt, { confirmationCode: '4711' }));
      await withLpa(rt, async (lpa) => {
        await c.step(1, async () => {
          const err = await rejectsWith(lpa.downloadProfile(order.activationCode, { confirmationCode: '1234' }), Es9Error);
          expect(err.fn).toBe('ES9+.getBoundProfilePackage');
          expect([err.subjectCode, err.reasonCode]).toEqual(['8.2.7', '3.8']);
        });
        await c.step(2, async () => {
          expectNoProfile(c, rt, order.iccid);
          if (c.observe('cardState', 'no notification left on the card')) expect(euiccOf(rt).state.notifications()).toEqual([]);
          expect(iccidsOf(await lpa.listProfiles())).not.toContain(order.iccid);
          expect(smdpState(rt, order.iccid)).toBe('Released');
          expect(smdpOf(rt).state.order(order.iccid)?.ccAttempts).toBe(1);
        });
        await c.step(3, async () => {
          const r = await lpa.downloadProfile(order.activationCode, { confirmationCode: '4711' });
          expect(r.iccid).toBe(order.iccid);
          expect(smdpState(rt, order.iccid)).toBe('Installed');
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_ConfirmationCodeRetriesExceeded',
    title: 'after the allowed number of wrong confirmation codes the order refuses even the right one (8.2.7/6.4)',
    group,
    iut: 'self', // the SM-DP+'s retry counter decides
    purpose: 'Confirmation code guessing through the bridge is bounded by the SM-DP+ retry limit.',
    requirement: 'SGP.22 5.6.2 (Maximum number of Confirmation Code attempts exceeded 8.2.7/6.4)',
    initialConditions: ['clean eUICC', 'a released order with confirmation code 4711; the SM-DP+ allows 3 wrong codes'],
    steps: [
      { action: 'download twice with wrong codes', expected: 'both refused with 8.2.7/3.8' },
      { action: 'download a third time with a wrong code', expected: 'refused with 8.2.7/6.4' },
      { action: 'download with the right code 4711', expected: 'refused with 8.2.7/6.4' },
      { action: 'check the eUICC', expected: 'nothing installed, no notification pending' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order with a confirmation code', () => orderProfile(rt, { confirmationCode: '4711' }));
      const codes = async (lpa: Lpa, cc: string): Promise<string[]> => {
        const err = await rejectsWith(lpa.downloadProfile(order.activationCode, { confirmationCode: cc }), Es9Error);
        return [err.fn, err.subjectCode, err.reasonCode];
      };
      await withLpa(rt, async (lpa) => {
        await c.step(1, async () => {
          expect(await codes(lpa, '0000')).toEqual(['ES9+.getBoundProfilePackage', '8.2.7', '3.8']);
          expect(await codes(lpa, '1111')).toEqual(['ES9+.getBoundProfilePackage', '8.2.7', '3.8']);
        });
        await c.step(2, async () => expect(await codes(lpa, '2222')).toEqual(['ES9+.getBoundProfilePackage', '8.2.7', '6.4']));
        await c.step(3, async () => expect(await codes(lpa, '4711')).toEqual(['ES9+.getBoundProfilePackage', '8.2.7', '6.4']));
      });
      await c.step(4, () => {
        expectNoProfile(c, rt, order.iccid);
        if (c.observe('cardState', 'no notification left on the card')) expect(euiccOf(rt).state.notifications()).toEqual([]);
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_ConfirmationCodeMissing',
    title: 'without a confirmation code the LPA cancels the session (endUserRejection) on the eUICC and the SM-DP+',
    group,
    iut: 'self', // the test LPA's cancel (endUserRejection) and the SM-DP+ decide
    purpose: 'The cancellation travels through the bridge as ES10b.CancelSession and its signed response reaches the SM-DP+.',
    requirement: 'SGP.22 3.1.3.1, 3.1.5 (Common Cancel Session), 5.7.14 CancelSession, 5.6.5 ES9+.CancelSession',
    initialConditions: ['clean eUICC', 'a released order with confirmation code 4711'],
    steps: [
      { action: 'download without giving a confirmation code', expected: 'ConfirmationCodeRequiredError after the SM-DP+ set ccRequiredFlag; no PrepareDownload sent to the card' },
      { action: 'check the SM-DP+', expected: 'the session cancelled with reason endUserRejection (0); the order terminated (entry in Error)' },
      { action: 'check the eUICC', expected: 'nothing installed, no notification' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order with a confirmation code', () => orderProfile(rt, { confirmationCode: '4711' }));
      const tid = await c.step(1, () =>
        withLpa(rt, async (lpa) => {
          let tid: string | undefined;
          await rejectsWith(
            lpa.downloadProfile(order.activationCode, {
              confirm: (offer) => {
                tid = Buffer.from(offer.transactionId).toString('hex').toUpperCase();
                expect(offer.confirmationCodeRequired).toBe(true);
                return 'accept';
              },
            }),
            ConfirmationCodeRequiredError,
          );
          expect(tid).toBeDefined();
          return tid!;
        }),
      );
      await c.step(2, () => {
        const s = smdpOf(rt).state.session(tid);
        expect(s?.state).toBe('cancelled');
        expect(s?.cancelReason).toBe(0);
        expect(smdpState(rt, order.iccid)).toBe('Error');
      });
      await c.step(3, () => {
        expectNoProfile(c, rt, order.iccid);
        if (c.observe('cardState', 'no notification left on the card')) expect(euiccOf(rt).state.notifications()).toEqual([]);
      });
    });
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_DefaultSmdp',
    title: 'a profile ordered for the EID is downloaded from the default SM-DP+ with an empty MatchingID',
    group,
    iut: 'bridge',
    purpose: 'The LPA reads the default SM-DP+ address from the eUICC through the bridge (ES10a) and the SM-DP+ finds the order by the EID.',
    requirement: 'SGP.22 3.1.3.2 (default SM-DP+), 5.7.3 GetEuiccConfiguredAddresses, 5.6.3 (order selected by EID when the MatchingID is empty)',
    initialConditions: ['clean eUICC whose default SM-DP+ address is the rig SM-DP+', 'a released order bound to the EID of the eUICC'],
    steps: [
      { action: 'read the configured addresses through the bridge', expected: 'defaultDpAddress is the SM-DP+ address of the rig' },
      { action: 'download from the default SM-DP+', expected: 'the order of this EID is installed' },
      { action: 'check what the eUICC signed (the AuthenticateServer response relayed to the SM-DP+)', expected: 'euiccSigned1: ctxParams1 with an empty MatchingID, serverAddress = the default SM-DP+ address' },
      { action: 'check the SM-DP+', expected: 'entry Installed; the order is bound to the EID of the card' },
    ],
    requires: ['embeddedSmdp', 'emulatedEuicc'],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig, card with its own EID', () => cleanRig(rt, { freshEid: true }));
    const eid = euiccOf(rt).eid;
    const order = await c.setup('order bound to the EID', () => orderProfile(rt, { eid }));
    const rec = new RecordingEs9p(es9Client(rt));
    try {
      await withLpa(
        rt,
        async (lpa) => {
          await c.step(1, async () => expect((await lpa.configuredAddresses()).defaultDpAddress).toBe(smdpOf(rt).address));
          await c.step(2, async () => {
            const r = await lpa.downloadFromDefaultSmdp();
            expect(r.iccid).toBe(order.iccid);
            expect(r.smdpAddress).toBe(smdpOf(rt).address);
          });
        },
        { es9pFactory: () => rec },
      );
      await c.step(3, () => {
        expect(rec.authenticateClientCalls.length).toBe(1);
        const asr = decode(AuthenticateServerResponse, rec.authenticateClientCalls[0]!.authenticateServerResponse);
        expect('authenticateResponseOk' in asr).toBe(true);
        if (!('authenticateResponseOk' in asr)) return;
        expect(asr.authenticateResponseOk.euiccSigned1.ctxParams1.ctxParamsForCommonAuthentication.matchingId).toBe('');
        expect(asr.authenticateResponseOk.euiccSigned1.serverAddress).toBe(smdpOf(rt).address);
      });
      await c.step(4, () => {
        expect(smdpState(rt, order.iccid)).toBe('Installed');
        expect(smdpOf(rt).state.order(order.iccid)?.eid).toBe(eid);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES11.Download_SmdsDiscovery',
    title: 'the LPA discovers an event registered for the EID at the SM-DS and downloads the profile it points to',
    group,
    iut: 'bridge',
    purpose: 'Discovery (ES11 mutual authentication through the bridge) and the download it leads to.',
    requirement: 'SGP.22 3.1.3.3 / 3.6 (event registration and retrieval), 5.8.1-5.8.2 ES11, 5.9 ES12',
    initialConditions: ['clean eUICC whose root SM-DS is the rig SM-DS', 'an order for the EID, released: the SM-DP+ registered an event at the SM-DS'],
    steps: [
      { action: 'check the SM-DS events', expected: 'one event for the EID, eventId = the MatchingID of the order, rspServerAddress = the SM-DP+' },
      { action: 'retrieve the events through the bridge (ES11)', expected: 'exactly that event entry' },
      { action: 'download with the event', expected: 'the ordered ICCID installed' },
      { action: 'check the SM-DP+ and SM-DS', expected: 'entry Installed; the event deleted once the order completed' },
    ],
    requires: ['embeddedSmdp', 'emulatedEuicc'],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig, card with its own EID', () => cleanRig(rt, { freshEid: true }));
    const eid = euiccOf(rt).eid;
    const order = await c.setup('order bound to the EID, released', () => orderProfile(rt, { eid }));
    const smdp = smdpOf(rt);
    try {
      await c.step(1, () => {
        const ev = smdp.state.events().filter((e) => e.eid === eid);
        expect(ev.map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress }))).toEqual([{ eventId: order.matchingId, rspServerAddress: smdp.address }]);
      });
      await withLpa(rt, async (lpa) => {
        await c.step(2, async () => {
          const d = await lpa.discoverEvents();
          expect(d.smdsAddress).toBe(smdp.smdsAddress);
          expect(d.eventEntries.map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress }))).toEqual([{ eventId: order.matchingId, rspServerAddress: smdp.address }]);
        });
        await c.step(3, async () => {
          const r = await lpa.downloadFromSmds();
          expect(r.iccid).toBe(order.iccid);
        });
      });
      await c.step(4, () => {
        expect(smdpState(rt, order.iccid)).toBe('Installed');
        expect(smdp.state.events().filter((e) => e.eid === eid)).toEqual([]);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.HandleNotification_InventoryInstalled',
    title: 'the SM-DP+ entry goes Released -> Downloaded -> Installed, the last step only when the install notification arrives',
    group,
    iut: 'self', // the SM-DP+'s inventory states decide
    purpose: 'The ProfileInstallationResult the eUICC signed travels back through the bridge unchanged and closes the order at the SM-DP+.',
    requirement: 'SGP.22 3.1.6 (profile states at the SM-DP+), 5.6.4 HandleNotification, 5.7.9-5.7.11 notifications',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: [
      { action: 'check the SM-DP+ entry', expected: 'Released' },
      { action: 'download, leaving the install notification pending', expected: 'installed; SM-DP+ entry Downloaded' },
      { action: 'list the notifications through the bridge', expected: 'one install notification for the ICCID, addressed to the SM-DP+, whose PIR is a successResult' },
      { action: 'process the notifications', expected: 'delivered and removed; SM-DP+ entry Installed; the PIR accepted with result success; no notification left' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      await c.step(1, () => expect(smdpState(rt, order.iccid)).toBe('Released'));
      await withLpa(rt, async (lpa) => {
        await c.step(2, async () => {
          const r = await lpa.downloadProfile(order.activationCode, { notifications: 'leave' });
          expect(r.iccid).toBe(order.iccid);
          expect(r.notification).toBeUndefined();
          expect(smdpState(rt, order.iccid)).toBe('Downloaded');
        });
        const seq = await c.step(3, async () => {
          const list = await lpa.listNotifications();
          expect(list.length).toBe(1);
          const n = list[0]!;
          expect(n.profileManagementOperation).toEqual(['notificationInstall']);
          expect(n.notificationAddress).toBe(smdpOf(rt).address);
          expect(Buffer.from(n.iccid ?? []).length).toBeGreaterThan(0);
          if (c.observe('cardState', 'the notifications stored on the card')) {
            const stored = euiccOf(rt).state.notifications();
            expect(stored.map((s) => [s.kind, s.iccid])).toEqual([['install', order.iccid]]);
            expect(pirError(stored[0]!.der)).toBeUndefined();
          }
          return n.seqNumber;
        });
        await c.step(4, async () => {
          const done = await lpa.processNotifications();
          expect(done.map((d) => ({ seq: d.seqNumber, delivered: d.delivered, removed: d.removed }))).toEqual([{ seq, delivered: true, removed: true }]);
          expect(smdpState(rt, order.iccid)).toBe('Installed');
          const pir = smdpOf(rt).state.notifications().filter((n) => n.iccid === order.iccid && n.kind === 'profileInstallationResult');
          expect(pir.map((n) => [n.accepted, n.result])).toEqual([[true, 'success']]);
          expect(await lpa.listNotifications()).toEqual([]);
        });
      });
    });
  },
);
