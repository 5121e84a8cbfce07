// Negative and security, SM-DP+ side of the mutual authentication through the bridge:
// an eUICC whose certificate chain is invalid (every SGP.26 variant of certs/issue.ts
// INVALID_VARIANTS.euicc, installed as the identity of a fresh emulated card) is refused by
// ES9+.AuthenticateClient with the exact subject/reason (SGP.22 5.6.3: 8.1.3 eUICC
// certificate, 8.1.2 EUM certificate, 6.1 invalid / 6.3 expired, 8.11.1/3.9 unknown CI);
// an euiccSigned1 carrying another serverChallenge is refused (8.1/6.1); and replayed
// ES9+ requests of a finished session are refused as unknown transactions (8.10.1/3.9).
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { INVALID_VARIANTS, issueInvalid, type InvalidVariant } from '../../certs/issue.ts';
import { derOf } from '../../sim/rsp/der.ts';
import { EUICCInfo1 } from '../../sim/rsp/common.ts';
import { AuthenticateServerResponse } from '../../sim/rsp/es10b.ts';
import { Es9Error } from '../../sim/lpa/errors.ts';
import { toHex } from '../../sim/bytes.ts';
import { cleanRig, es9Client, expectNoProfile, orderProfile, RecordingEs9p, rejectsWith, restoreRig, smdpOf, smdpState, withLpa, withCleanRig } from '../framework/fixtures.ts';
import { authenticateServerRequest, identityFrom, random16, sgp26CiKeyId, sgp26Signer, type CurveTag } from './rogue-smdp.ts';

const rig = useRig();
const group = 'Negative and security' as const;

const EXPECTED: Record<InvalidVariant, [string, string, string]> = {
  expired: ['8.1.3', '6.3', 'eUICC certificate expired'],
  notYetValid: ['8.1.3', '6.3', 'eUICC certificate not valid yet (reported as expired)'],
  wrongCi: ['8.11.1', '3.9', 'unknown CI public key'],
  badSignature: ['8.1.3', '6.1', 'eUICC certificate invalid'],
  wrongPolicy: ['8.1.3', '6.1', 'eUICC certificate invalid'],
  wrongIssuer: ['8.1.3', '6.1', 'eUICC certificate invalid'],
  eidOutsidePrefix: ['8.1.3', '6.1', 'eUICC certificate invalid'],
  invalidEid: ['8.1.3', '6.1', 'eUICC certificate invalid'],
  notCa: ['8.1.2', '6.1', 'EUM certificate invalid'],
  missingSanOid: ['8.1.3', '6.1', 'eUICC certificate invalid'],
};

const WHAT: Record<InvalidVariant, string> = {
  expired: 'whose validity ended yesterday',
  notYetValid: 'whose validity starts tomorrow',
  wrongCi: 'whose EUM was signed by an unknown CI',
  badSignature: 'whose signature (by the EUM) has one bit flipped',
  wrongPolicy: 'carrying the EUM certificate policy',
  wrongIssuer: 'whose issuer DN does not name its EUM',
  eidOutsidePrefix: 'whose EID is outside the EUM prefix',
  invalidEid: 'whose EID check digits are wrong',
  notCa: 'whose EUM certificate is not a CA',
  missingSanOid: '',
};

const cap = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

for (const variant of INVALID_VARIANTS.euicc) {
  const [subject, reason, meaning] = EXPECTED[variant];
  tc(
    {
      id: `TC_SM-DP+_ES9+.AuthenticateClient_${cap(variant)}EuiccCertificate`,
      title: `an eUICC certificate ${WHAT[variant]} is refused by AuthenticateClient (${subject}/${reason})`,
      group,
      iut: 'self',
      purpose: 'The SM-DP+ authenticates the eUICC behind the bridge: an invalid eUICC or EUM certificate ends the download before any profile is bound.',
      requirement: `SGP.22 5.6.3 AuthenticateClient (${subject}/${reason} ${meaning}), 4.5.2.1; SGP.26 invalid variant '${variant}'`,
      initialConditions: [`a fresh emulated eUICC whose certificate (P-256) is issueInvalid('euicc', '${variant}'), announcing the SGP.26 CI`, 'a released order'],
      steps: [
        { action: 'download with the Activation Code through the bridge', expected: `ES9+.authenticateClient Failed, subject ${subject} reason ${reason}` },
        { action: 'check the SM-DP+', expected: `the session failed with ${subject}/${reason}; the order is still Released with no download attempt counted` },
        { action: 'check the eUICC', expected: 'nothing installed, no notification' },
      ],
      requires: ['embeddedSmdp', 'emulatedEuicc'],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      await c.setup(`eUICC with an invalid certificate '${variant}'`, async () => {
        const bad = await issueInvalid('euicc', variant, { curve: 'P-256' });
        await rt.freshCard({ identity: { identities: [identityFrom(bad.leaf, bad.intermediates[0]!, sgp26CiKeyId('NIST'))] } });
      });
      const order = await c.setup('released order', () => orderProfile(rt));
      try {
        const rec = new RecordingEs9p(es9Client(rt));
        await withLpa(
          rt,
          async (lpa) => {
            await c.step(1, async () => {
              const err = await rejectsWith(lpa.downloadProfile(order.activationCode), Es9Error);
              expect([err.fn, err.subjectCode, err.reasonCode]).toEqual(['ES9+.authenticateClient', subject, reason]);
            });
          },
          { es9pFactory: () => rec },
        );
        await c.step(2, () => {
          const tid = toHex(rec.authenticateClientCalls[0]!.transactionId).toUpperCase();
          const s = smdpOf(rt).state.session(tid);
          expect(s?.state).toBe('failed');
          expect([s?.failure?.subjectCode, s?.failure?.reasonCode]).toEqual([subject, reason]);
          expect(smdpState(rt, order.iccid)).toBe('Released');
          expect(smdpOf(rt).state.order(order.iccid)?.downloadAttempts).toBe(0);
        });
        await c.step(3, () => {
          expectNoProfile(c, rt, order.iccid);
          expect(rt.euicc!.state.notifications()).toEqual([]);
        });
      } finally {
        await restoreRig(rt);
      }
    },
  );
}

tc(
  {
    id: 'TC_SM-DP+_ES9+.AuthenticateClient_ServerChallengeMismatch',
    title: 'an euiccSigned1 over another serverChallenge is refused by the SM-DP+ (8.1/6.1)',
    group,
    iut: 'self',
    purpose: 'The SM-DP+ binds the eUICC answer to the challenge it issued: a validly signed answer to another challenge is not accepted.',
    requirement: 'SGP.22 5.6.3 AuthenticateClient (8.1/6.1 eUICC signature invalid or serverChallenge invalid), 3.1.2',
    initialConditions: ['clean eUICC trusting the SGP.26 CI', 'a released order'],
    steps: [
      { action: 'GetEUICCChallenge and GetEUICCInfo1 through the bridge, ES9+.InitiateAuthentication', expected: 'a transactionId and serverSigned1 from the SM-DP+' },
      { action: 'AuthenticateServer on the eUICC with that transactionId but another serverChallenge (signed with the SGP.26 DPauth)', expected: 'authenticateResponseOk' },
      { action: 'ES9+.AuthenticateClient with that response', expected: 'Failed 8.1/6.1; the session failed; the order still Released' },
    ],
    requires: ['embeddedSmdp', 'sgp26Trust'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      const es9 = es9Client(rt);
      await withLpa(rt, async (lpa) => {
        const init = await c.step(1, async () => {
          const euiccChallenge = await lpa.es10.getEuiccChallenge();
          const info1 = await lpa.es10.getEuiccInfo1();
          const init = await es9.initiateAuthentication({ euiccChallenge, euiccInfo1: derOf(EUICCInfo1, info1) });
          expect(toHex(init.serverSigned1.euiccChallenge)).toBe(toHex(euiccChallenge));
          return { ...init, euiccChallenge };
        });
        const asr = await c.step(2, async () => {
          const curve: CurveTag = toHex(init.euiccCiPKIdToBeUsed) === toHex(sgp26CiKeyId('NIST')) ? 'NIST' : 'BRP';
          const other = random16();
          expect(toHex(other)).not.toBe(toHex(init.serverSigned1.serverChallenge));
          const req = authenticateServerRequest({
            transactionId: init.transactionId,
            euiccChallenge: init.euiccChallenge,
            serverAddress: init.serverSigned1.serverAddress,
            serverChallenge: other,
            signer: sgp26Signer('DPauth', curve),
            ciKeyId: init.euiccCiPKIdToBeUsed,
            matchingId: order.matchingId,
          });
          const r = await lpa.es10.authenticateServer(req);
          expect('authenticateResponseOk' in r).toBe(true);
          return derOf(AuthenticateServerResponse, r);
        });
        await c.step(3, async () => {
          const err = await rejectsWith(es9.authenticateClient(init.transactionId, asr), Es9Error);
          expect([err.subjectCode, err.reasonCode]).toEqual(['8.1', '6.1']);
          expect(smdpOf(rt).state.session(toHex(init.transactionId).toUpperCase())?.state).toBe('failed');
          expect(smdpState(rt, order.iccid)).toBe('Released');
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_SM-DP+_ES9+.AuthenticateClient_Replayed',
    title: 'replaying the AuthenticateClient request of a completed download is refused as an unknown transaction (8.10.1/3.9)',
    group,
    iut: 'self',
    purpose: 'A recorded eUICC authentication cannot be replayed to the SM-DP+ to obtain another profile binding.',
    requirement: 'SGP.22 5.6.3 (8.10.1/3.9 TransactionId unknown), 3.1.3 session state',
    initialConditions: ['clean eUICC', 'a released order downloaded through the bridge, the ES9+ requests recorded'],
    steps: [
      { action: 'send the recorded ES9+.AuthenticateClient again', expected: 'Failed 8.10.1/3.9' },
      { action: 'check the SM-DP+', expected: 'the session stays completed; the entry stays Installed; no new download attempt counted' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      const rec = new RecordingEs9p(es9Client(rt));
      await c.setup('download with recorded ES9+ requests', () => withLpa(rt, (lpa) => lpa.downloadProfile(order.activationCode), { es9pFactory: () => rec }));
      const attempts = smdpOf(rt).state.order(order.iccid)?.downloadAttempts;
      const call = rec.authenticateClientCalls[0]!;
      await c.step(1, async () => {
        const err = await rejectsWith(es9Client(rt).authenticateClient(call.transactionId, call.authenticateServerResponse), Es9Error);
        expect([err.subjectCode, err.reasonCode]).toEqual(['8.10.1', '3.9']);
      });
      await c.step(2, () => {
        expect(smdpOf(rt).state.session(toHex(call.transactionId).toUpperCase())?.state).toBe('completed');
        expect(smdpState(rt, order.iccid)).toBe('Installed');
        expect(smdpOf(rt).state.order(order.iccid)?.downloadAttempts).toBe(attempts);
      });
    });
  },
);

tc(
  {
    id: 'TC_SM-DP+_ES9+.GetBoundProfilePackage_Replayed',
    title: 'replaying GetBoundProfilePackage of a completed download gets no BPP (8.10.1/3.9)',
    group,
    iut: 'self',
    purpose: 'A recorded PrepareDownload response cannot fetch the profile package again once the session ended.',
    requirement: 'SGP.22 5.6.2 (8.10.1/3.9 TransactionId unknown), 3.1.3',
    initialConditions: ['clean eUICC', 'a released order downloaded through the bridge, the ES9+ requests recorded'],
    steps: [
      { action: 'send the recorded ES9+.GetBoundProfilePackage again', expected: 'Failed 8.10.1/3.9, no boundProfilePackage' },
      { action: 'send the recorded AuthenticateServer response with a made-up transactionId', expected: 'Failed 8.10.1/3.9' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      const rec = new RecordingEs9p(es9Client(rt));
      await c.setup('download with recorded ES9+ requests', () => withLpa(rt, (lpa) => lpa.downloadProfile(order.activationCode), { es9pFactory: () => rec }));
      await c.step(1, async () => {
        const call = rec.getBppCalls[0]!;
        const err = await rejectsWith(es9Client(rt).getBoundProfilePackage(call.transactionId, call.prepareDownloadResponse), Es9Error);
        expect([err.fn, err.subjectCode, err.reasonCode]).toEqual(['ES9+.getBoundProfilePackage', '8.10.1', '3.9']);
        expect(smdpState(rt, order.iccid)).toBe('Installed');
      });
      await c.step(2, async () => {
        const call = rec.authenticateClientCalls[0]!;
        const err = await rejectsWith(es9Client(rt).authenticateClient(random16(), call.authenticateServerResponse), Es9Error);
        expect([err.subjectCode, err.reasonCode]).toEqual(['8.10.1', '3.9']);
      });
    });
  },
);
