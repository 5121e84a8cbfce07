// Negative and security: the eUICC refuses an SM-DP+ that presents an invalid certificate.
// Every SGP.26 invalid variant of CERT.DPauth (certs/issue.ts INVALID_VARIANTS.dpauth) is
// presented in ES10b.AuthenticateServer (SGP.22 5.7.13), every variant of CERT.DPpb in
// ES10b.PrepareDownload after a valid authentication (5.7.5), through the bridge; the exact
// error code must come back and nothing may change on the card. Plus the session checks of
// AuthenticateServer: unknown CI key id (ciPKUnknown 7), another eUICC challenge
// (euiccChallengeMismatch 6), and a replayed request (noSessionContext 4 / mismatch 6).
// The eUICC checks validity periods only if it has a trusted clock (SGP.22 4.5.2.1 note):
// for expired and not-yet-valid certificates invalidCertificate (1) or acceptance are both
// conformant, any other answer fails.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import type { CaseRun } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { INVALID_VARIANTS, issueInvalid, type InvalidVariant } from '../../certs/issue.ts';
import { decode } from '../../sim/rsp/der.ts';
import { AuthenticateServerResponse } from '../../sim/rsp/es10b.ts';
import { AuthenticateErrorCode, DownloadErrorCode } from '../../sim/rsp/results.ts';
import type { Es10Client } from '../../sim/lpa/es10.ts';
import { toHex } from '../../sim/bytes.ts';
import { cleanRig, cardCommandTags, restoreRig, withLpa, withCleanRig, euiccOf } from '../framework/fixtures.ts';
import { authenticateServerRequest, CURVE_OF, curveFor, prepareDownloadRequest, random16, sgp26CiKeyId, sgp26Signer, signerOf, type CurveTag, type Signer } from './rogue-smdp.ts';

const rig = useRig();
const group = 'Negative and security' as const;
const SERVER_ADDRESS = 'testsmdpplus1.example.com';

/** What the eUICC must answer per variant: an error code, or 'noClock' (1 or accepted). */
type Expected = number | 'noClock';

const DPAUTH_EXPECTED: Record<InvalidVariant, Expected> = {
  expired: 'noClock',
  notYetValid: 'noClock',
  wrongCi: AuthenticateErrorCode.invalidCertificate,
  badSignature: AuthenticateErrorCode.invalidCertificate,
  wrongPolicy: AuthenticateErrorCode.invalidOid,
  wrongIssuer: AuthenticateErrorCode.invalidCertificate,
  missingSanOid: AuthenticateErrorCode.invalidOid,
  eidOutsidePrefix: AuthenticateErrorCode.invalidCertificate,
  invalidEid: AuthenticateErrorCode.invalidCertificate,
  notCa: AuthenticateErrorCode.invalidCertificate,
};

const DPPB_EXPECTED: Record<InvalidVariant, Expected> = {
  ...DPAUTH_EXPECTED,
  wrongPolicy: DownloadErrorCode.invalidCertificate,
  missingSanOid: DownloadErrorCode.invalidCertificate,
};

const WHY: Record<InvalidVariant, string> = {
  expired: 'whose validity ended yesterday',
  notYetValid: 'whose validity starts tomorrow',
  wrongCi: 'signed by a CI the eUICC does not know',
  badSignature: 'with one bit of its CI signature flipped',
  wrongPolicy: 'with the certificate policy of another role',
  wrongIssuer: 'whose issuer DN does not name the CI',
  missingSanOid: 'without SM-DP+ OID (subjectAltName registeredID)',
  eidOutsidePrefix: 'with an EID outside the EUM prefix',
  invalidEid: 'with an EID whose check digits are wrong',
  notCa: 'whose EUM is not a CA',
};

const cap = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

function codeName(e: Expected, names: { describe(n: number): string }): string {
  return e === 'noClock' ? 'invalidCertificate (1) or, for an eUICC without a trusted clock, accepted' : `${names.describe(e)} (${e})`;
}

/** The curve of the SGP.26 CI the eUICC verifies with (N/A when it lists none). */
async function curveOf(c: CaseRun, es10: Es10Client): Promise<CurveTag> {
  const curve = curveFor(await es10.getEuiccInfo1());
  if (!curve) c.notApplicable('the eUICC lists no SGP.26 CI for verification');
  return curve;
}

function decodeAuth(der: Uint8Array): { ok: true; euiccSignature1: Uint8Array; transactionId: Uint8Array } | { ok: false; code: number; transactionId: Uint8Array } {
  const r = decode(AuthenticateServerResponse, der);
  if ('authenticateResponseOk' in r) return { ok: true, euiccSignature1: r.authenticateResponseOk.euiccSignature1, transactionId: r.authenticateResponseOk.euiccSigned1.transactionId };
  return { ok: false, code: r.authenticateResponseError.authenticateErrorCode, transactionId: r.authenticateResponseError.transactionId };
}

/** Nothing on the card changed: no profile, no notification, no BPP. */
function expectCardUntouched(c: CaseRun, rt: RigRuntime): void {
  if (!c.observe('cardState', 'no profile, notification or BPP on the card')) return;
  expect(euiccOf(rt).state.profiles()).toEqual([]);
  expect(euiccOf(rt).state.notifications()).toEqual([]);
  expect(euiccOf(rt).state.bppInProgress()).toBeUndefined();
}

/** A valid mutual authentication with the SGP.26 DPauth; returns what PrepareDownload needs. */
async function authenticate(es10: Es10Client, curve: CurveTag): Promise<{ transactionId: Uint8Array; euiccSignature1: Uint8Array }> {
  const transactionId = random16();
  const euiccChallenge = await es10.getEuiccChallenge();
  const req = authenticateServerRequest({ transactionId, euiccChallenge, serverAddress: SERVER_ADDRESS, signer: sgp26Signer('DPauth', curve), ciKeyId: sgp26CiKeyId(curve), matchingId: '' });
  const r = decodeAuth(await es10.storeData(req, 'ES10b.AuthenticateServer'));
  if (!r.ok) throw new Error(`AuthenticateServer with the SGP.26 DPauth failed: ${AuthenticateErrorCode.describe(r.code)}`);
  return { transactionId, euiccSignature1: r.euiccSignature1 };
}

for (const variant of INVALID_VARIANTS.dpauth) {
  const expected = DPAUTH_EXPECTED[variant];
  tc(
    {
      id: `TC_eUICC_ES10b.AuthenticateServer_${cap(variant)}DPauth`,
      title: `AuthenticateServer with a CERT.DPauth ${WHY[variant]}: ${codeName(expected, AuthenticateErrorCode)}`,
      group,
      iut: 'self',
      purpose: 'A server with an invalid authentication certificate is refused by the eUICC, and the refusal reaches the LPA through the bridge unchanged.',
      requirement: `SGP.22 5.7.13 AuthenticateServer, 4.5.2.1 certificate checks; SGP.26 invalid variant '${variant}'`,
      initialConditions: ['clean eUICC trusting the SGP.26 CI', `a CERT.DPauth of the eUICC's curve, ${WHY[variant]}, and its key (certs/issue.ts issueInvalid('dpauth', '${variant}'))`],
      steps: [
        { action: 'GetEUICCChallenge, then AuthenticateServer with serverSigned1 signed by that certificate\'s key, euiccCiPKIdToBeUsed = the SGP.26 CI', expected: `${codeName(expected, AuthenticateErrorCode)}; the error carries the transactionId of the request` },
        { action: 'check the eUICC', expected: 'no profile, no notification, no BPP; only GetEUICCChallenge/GetEUICCInfo1/AuthenticateServer (and CancelSession when accepted) reached the card' },
      ],
      requires: ['sgp26Trust'],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      try {
        await withLpa(rt, async (lpa) => {
          const curve = await c.setup('eUICC curve', () => curveOf(c, lpa.es10));
          const bad = await c.setup(`invalid DPauth '${variant}'`, () => issueInvalid('dpauth', variant, { curve: CURVE_OF[curve] }));
          const signer: Signer = signerOf(bad.leaf);
          await c.step(1, async () => {
            const transactionId = random16();
            const euiccChallenge = await lpa.es10.getEuiccChallenge();
            const req = authenticateServerRequest({ transactionId, euiccChallenge, serverAddress: SERVER_ADDRESS, signer, ciKeyId: sgp26CiKeyId(curve), matchingId: '' });
            const r = decodeAuth(await lpa.es10.storeData(req, 'ES10b.AuthenticateServer'));
            expect(toHex(r.transactionId)).toBe(toHex(transactionId));
            if (r.ok) {
              expect(expected).toBe('noClock');
              const cancel = await lpa.es10.cancelSession(transactionId, 127);
              expect('cancelSessionResponseOk' in cancel).toBe(true);
              return;
            }
            if (!rt.euicc && (variant === 'wrongPolicy' || variant === 'missingSanOid') && r.code === AuthenticateErrorCode.invalidCertificate)
              c.notApplicable('the card eUICC reports invalidCertificate (1) here: invalidOid not supported');
            expect(r.code).toBe(expected === 'noClock' ? AuthenticateErrorCode.invalidCertificate : expected);
          });
          await c.step(2, () => {
            expectCardUntouched(c, rt);
            const tags = cardCommandTags(c, rt, 'the card got no ES10 command of the download after AuthenticateServer');
            if (tags) expect(tags.filter((t) => !['BF2E', 'BF20', 'BF38', 'BF41'].includes(t))).toEqual([]);
          });
        });
      } finally {
        await restoreRig(rt);
      }
    },
  );
}

for (const variant of INVALID_VARIANTS.dppb) {
  const expected = DPPB_EXPECTED[variant];
  tc(
    {
      id: `TC_eUICC_ES10b.PrepareDownload_${cap(variant)}DPpb`,
      title: `PrepareDownload with a CERT.DPpb ${WHY[variant]}: ${codeName(expected, DownloadErrorCode)}`,
      group,
      iut: 'self',
      purpose: 'A server whose profile-binding certificate is invalid gets no one-time key from the eUICC: no BPP can be bound to it.',
      requirement: `SGP.22 5.7.5 PrepareDownload, 4.5.2.1; SGP.26 invalid variant '${variant}'`,
      initialConditions: ['clean eUICC trusting the SGP.26 CI', 'a session authenticated with the SGP.26 CERT.DPauth', `a CERT.DPpb ${WHY[variant]} and its key`],
      steps: [
        { action: 'PrepareDownload with smdpSigned2 signed by that certificate\'s key', expected: `${codeName(expected, DownloadErrorCode)}; no euiccOtpk given out on error` },
        { action: 'CancelSession, then check the eUICC', expected: 'no profile, no notification, no BPP' },
      ],
      requires: ['sgp26Trust'],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      try {
        await withLpa(rt, async (lpa) => {
          const curve = await c.setup('eUICC curve', () => curveOf(c, lpa.es10));
          const bad = await c.setup(`invalid DPpb '${variant}'`, () => issueInvalid('dppb', variant, { curve: CURVE_OF[curve] }));
          const session = await c.setup('session authenticated with the SGP.26 DPauth', () => authenticate(lpa.es10, curve));
          await c.step(1, async () => {
            const r = await lpa.es10.prepareDownload(prepareDownloadRequest({ ...session, signer: signerOf(bad.leaf) }));
            if ('downloadResponseOk' in r) {
              expect(expected).toBe('noClock');
              expect(toHex(r.downloadResponseOk.euiccSigned2.transactionId)).toBe(toHex(session.transactionId));
              return;
            }
            expect(toHex(r.downloadResponseError.transactionId)).toBe(toHex(session.transactionId));
            expect(r.downloadResponseError.downloadErrorCode).toBe(expected === 'noClock' ? DownloadErrorCode.invalidCertificate : expected);
          });
          await c.step(2, async () => {
            const cancel = await lpa.es10.cancelSession(session.transactionId, 127);
            expect('cancelSessionResponseOk' in cancel).toBe(true);
            expectCardUntouched(c, rt);
          });
        });
      } finally {
        await restoreRig(rt);
      }
    },
  );
}

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_UnknownCiKeyId',
    title: 'AuthenticateServer naming a CI key id the eUICC does not have: ciPKUnknown (7)',
    group,
    iut: 'self',
    purpose: 'An SM-DP+ cannot make the eUICC verify against a CI of its choosing.',
    requirement: 'SGP.22 5.7.13 (ciPKUnknown 7)',
    initialConditions: ['clean eUICC trusting the SGP.26 CI'],
    steps: [{ action: 'AuthenticateServer with the SGP.26 DPauth but euiccCiPKIdToBeUsed = 20 random bytes', expected: 'ciPKUnknown (7)' }],
    requires: ['sgp26Trust'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const curve = await c.setup('eUICC curve', () => curveOf(c, lpa.es10));
        await c.step(1, async () => {
          const euiccChallenge = await lpa.es10.getEuiccChallenge();
          const ciKeyId = new Uint8Array([...random16(), 1, 2, 3, 4]);
          const req = authenticateServerRequest({ transactionId: random16(), euiccChallenge, serverAddress: SERVER_ADDRESS, signer: sgp26Signer('DPauth', curve), ciKeyId });
          const r = decodeAuth(await lpa.es10.storeData(req, 'ES10b.AuthenticateServer'));
          expect(r.ok ? 'accepted' : r.code).toBe(AuthenticateErrorCode.ciPKUnknown);
        });
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_Replayed',
    title: 'a replayed AuthenticateServer is refused: noSessionContext (4) in the same session, euiccChallengeMismatch (6) after a new challenge',
    group,
    iut: 'self',
    purpose: 'A recorded server authentication cannot be replayed through the bridge to open another session.',
    requirement: 'SGP.22 5.7.13 (noSessionContext 4, euiccChallengeMismatch 6), 5.7.7 GetEUICCChallenge',
    initialConditions: ['clean eUICC trusting the SGP.26 CI'],
    steps: [
      { action: 'GetEUICCChallenge, AuthenticateServer with the SGP.26 DPauth', expected: 'authenticateResponseOk' },
      { action: 'send the same AuthenticateServer again', expected: 'noSessionContext (4): the challenge was used' },
      { action: 'GetEUICCChallenge, then the same AuthenticateServer again', expected: 'euiccChallengeMismatch (6)' },
    ],
    requires: ['sgp26Trust'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      await withLpa(rt, async (lpa) => {
        const curve = await c.setup('eUICC curve', () => curveOf(c, lpa.es10));
        const req = await c.step(1, async () => {
          const euiccChallenge = await lpa.es10.getEuiccChallenge();
          const req = authenticateServerRequest({ transactionId: random16(), euiccChallenge, serverAddress: SERVER_ADDRESS, signer: sgp26Signer('DPauth', curve), ciKeyId: sgp26CiKeyId(curve) });
          expect(decodeAuth(await lpa.es10.storeData(req, 'ES10b.AuthenticateServer')).ok).toBe(true);
          return req;
        });
        await c.step(2, async () => {
          const r = decodeAuth(await lpa.es10.storeData(req, 'ES10b.AuthenticateServer'));
          expect(r.ok ? 'accepted' : r.code).toBe(AuthenticateErrorCode.noSessionContext);
        });
        await c.step(3, async () => {
          await lpa.es10.getEuiccChallenge();
          const r = decodeAuth(await lpa.es10.storeData(req, 'ES10b.AuthenticateServer'));
          expect(r.ok ? 'accepted' : r.code).toBe(AuthenticateErrorCode.euiccChallengeMismatch);
        });
      });
    });
  },
);
