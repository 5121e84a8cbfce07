// Negative and security: a misbehaving SM-DP+ (sim/smdp/misbehaviour.ts switches) during a
// download through the bridge. A wrong serverAddress or transactionId is caught by the LPA
// (SGP.22 3.1.2 checks, session cancelled, 3.1.5); corrupted signatures and transaction ids
// inside signed structures are caught by the eUICC with the exact codes of 5.7.13, 5.7.5 and
// 5.7.6; a corrupted '86' segment fails the SCP03t check (2.5.4); an expired DPtls certificate,
// HTTP 500 and malformed JSON end the attempt at the LPA. Each time nothing is installed, no
// logical channel is left open on the card, and where the order survives a retry succeeds.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import type { CaseRun } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { Misbehaviour } from '../../sim/smdp/misbehaviour.ts';
import type { OrderResult } from '../../sim/smdp/server.ts';
import { Es9Error, Es9TransportError, EuiccResultError, LpaCheckError, ProfileInstallationError } from '../../sim/lpa/errors.ts';
import { toHex } from '../../sim/bytes.ts';
import { cardCommandTags, cleanRig, es9Client, expectNoOpenLogicalChannel, expectNoProfile, orderProfile, RecordingEs9p, restoreRig, smdpOf, smdpState, withLpa, withCleanRig, euiccOf } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Negative and security' as const;

interface Attempt {
  order: OrderResult;
  rec: RecordingEs9p;
  error: unknown;
}

/** Clean rig, a released order, the misbehaviour on, one download attempt through the bridge (must fail). */
async function failedDownload(c: CaseRun, rt: RigRuntime, m: Misbehaviour): Promise<Attempt> {
  await c.setup('clean rig', () => cleanRig(rt));
  const order = await c.setup('released order', () => orderProfile(rt));
  await c.setup(`SM-DP+ misbehaviour ${JSON.stringify(m)}`, () => smdpOf(rt).control.set(m));
  const rec = new RecordingEs9p(es9Client(rt));
  const error = await c.step(1, () =>
    withLpa(
      rt,
      async (lpa) => {
        try {
          await lpa.downloadProfile(order.activationCode);
        } catch (err) {
          return err;
        }
        throw new Error('the download succeeded despite the misbehaving SM-DP+');
      },
      { es9pFactory: () => rec },
    ),
  );
  return { order, rec, error };
}

/** The transactionId the LPA used (hex), from the recorded requests or the progress log. */
function sessionId(rt: RigRuntime): string {
  for (const e of rt.trace.events)
    if (e.kind === 'log' && e.source === 'lpa' && e.message.startsWith('es9p.initiateAuthentication done')) {
      const m = /"transactionId":"([0-9A-F]+)"/.exec(e.message);
      if (m) return m[1]!;
    }
  throw new Error('no initiateAuthentication in the trace');
}

/** ES9+ calls the LPA made, by function name. */
function es9Calls(rt: RigRuntime): string[] {
  return rt.trace.events.flatMap((e) => (e.kind === 'http' ? [e.url.slice(e.url.lastIndexOf('/') + 1)] : []));
}

function expectClean(c: CaseRun, rt: RigRuntime, order: OrderResult): void {
  expectNoProfile(c, rt, order.iccid);
  expectNoOpenLogicalChannel(c, rt);
}

/** After the misbehaviour is switched off, the same Activation Code downloads. */
async function retrySucceeds(rt: RigRuntime, order: OrderResult): Promise<void> {
  await smdpOf(rt).control.reset();
  await withLpa(rt, async (lpa) => {
    const r = await lpa.downloadProfile(order.activationCode);
    expect(r.iccid).toBe(order.iccid);
  });
  expect(smdpState(rt, order.iccid)).toBe('Installed');
}

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.InitiateAuthentication_WrongServerAddress',
    title: 'an SM-DP+ signing another serverAddress is refused by the LPA, which cancels the session; the order stays downloadable',
    group,
    iut: 'self', // the test LPA's serverAddress check decides; the bridge only carries GetEUICCChallenge/Info1 and CancelSession
    purpose: 'The LPA checks that the server it reached is the one it meant (SGP.22 3.1.2) before the eUICC is asked to trust it.',
    requirement: 'SGP.22 3.1.2 (LPA verifies serverAddress), 3.1.5 Common Cancel Session, 5.7.14, 5.6.5',
    initialConditions: ['clean eUICC', 'a released order', "the SM-DP+ puts serverAddress 'evil.example.com' into serverSigned1"],
    steps: [
      { action: 'download with the Activation Code', expected: "LpaCheckError 'serverAddress': expected the SM-DP+ address, got evil.example.com" },
      { action: 'check what reached the card and the SM-DP+', expected: 'no AuthenticateServer (BF38) on the card; CancelSession (BF41) sent to the card and ES9+.cancelSession to the SM-DP+; the SM-DP+ session cancelled' },
      { action: 'check the eUICC, then retry without the misbehaviour', expected: 'nothing installed, no channel left open; the retry installs the profile' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { serverAddress: 'evil.example.com' });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(LpaCheckError);
        const e = error as LpaCheckError;
        expect([e.check, e.expected, e.actual]).toEqual(['serverAddress', smdpOf(rt).address, 'evil.example.com']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the ES10 commands the card received');
        if (tags) {
          expect(tags).not.toContain('BF38');
          expect(tags).toContain('BF41');
        }
        expect(es9Calls(rt)).toEqual(['initiateAuthentication', 'cancelSession']);
        expect(smdpOf(rt).state.session(sessionId(rt))?.state).toBe('cancelled');
      });
      await c.step(3, async () => {
        expectClean(c, rt, order);
        await retrySucceeds(rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.InitiateAuthentication_WrongTransactionId',
    title: 'a serverSigned1 naming another transaction is refused by the LPA, which cancels the session',
    group,
    iut: 'self', // the test LPA's transactionId check decides
    purpose: 'The LPA checks the transactionId inside serverSigned1 against the one of the response (SGP.22 3.1.2).',
    requirement: 'SGP.22 3.1.2, 5.6.1 InitiateAuthentication, 3.1.5',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ signs serverSigned1 with another transactionId'],
    steps: [
      { action: 'download with the Activation Code', expected: "LpaCheckError 'transactionId' in ES9+.InitiateAuthentication serverSigned1" },
      { action: 'check the card and the SM-DP+', expected: 'no AuthenticateServer on the card; ES9+.cancelSession sent; session cancelled; nothing installed, no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { wrongTransactionId: ['serverSigned1'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(LpaCheckError);
        expect([(error as LpaCheckError).check, (error as LpaCheckError).where]).toEqual(['transactionId', 'ES9+.InitiateAuthentication serverSigned1']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no AuthenticateServer (BF38)');
        if (tags) expect(tags).not.toContain('BF38');
        expect(es9Calls(rt)).toEqual(['initiateAuthentication', 'cancelSession']);
        expect(smdpOf(rt).state.session(sessionId(rt))?.state).toBe('cancelled');
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Responses_WrongTransactionId',
    title: 'responses whose JSON transactionId is not the signed one are refused by the LPA before the eUICC trusts the server',
    group,
    iut: 'self', // the test LPA's transactionId check decides
    purpose: 'A response of another session (or a tampered one) is detected by comparing the JSON and signed transactionIds.',
    requirement: 'SGP.22 3.1.2 (transactionId checks), 6.5.2.6',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ answers another transactionId in its JSON responses'],
    steps: [
      { action: 'download with the Activation Code', expected: "LpaCheckError 'transactionId' (ES9+.InitiateAuthentication serverSigned1): the signed id differs from the announced one" },
      { action: 'check the card', expected: 'no AuthenticateServer (BF38) reached it; nothing installed; no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { wrongTransactionId: ['response'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(LpaCheckError);
        expect([(error as LpaCheckError).check, (error as LpaCheckError).where]).toEqual(['transactionId', 'ES9+.InitiateAuthentication serverSigned1']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no AuthenticateServer (BF38)');
        if (tags) expect(tags).not.toContain('BF38');
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_CorruptedServerSignature1',
    title: 'a corrupted serverSignature1 is refused by the eUICC (invalidSignature 2) and the refusal is relayed to the SM-DP+',
    group,
    iut: 'self',
    purpose: 'The eUICC verifies serverSignature1 on the bytes relayed by the bridge; its error reaches the SM-DP+ through the LPA.',
    requirement: 'SGP.22 5.7.13 (invalidSignature 2), 5.6.3 (the LPA relays an AuthenticateServer error)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ flips a bit of serverSignature1'],
    steps: [
      { action: 'download with the Activation Code', expected: 'EuiccResultError ES10b.AuthenticateServer invalidSignature (2); the SM-DP+ answered the relayed error with Failed 8.1/4.2' },
      { action: 'check the card and the SM-DP+', expected: 'no PrepareDownload reached the card; the SM-DP+ session failed; nothing installed; no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { corruptSignatures: ['serverSignature1'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(EuiccResultError);
        const e = error as EuiccResultError;
        expect([e.fn, e.code]).toEqual(['ES10b.AuthenticateServer', 2]);
        const relayed = e.related.find((r): r is Es9Error => r instanceof Es9Error);
        expect(relayed && [relayed.fn, relayed.subjectCode, relayed.reasonCode]).toEqual(['ES9+.authenticateClient', '8.1', '4.2']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no PrepareDownload (BF21)');
        if (tags) expect(tags).not.toContain('BF21');
        expect(smdpOf(rt).state.session(sessionId(rt))?.state).toBe('failed');
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_CorruptedSmdpSignature2',
    title: 'a corrupted smdpSignature2 is refused by the eUICC (invalidSignature 2): no one-time key, no BPP',
    group,
    iut: 'self',
    purpose: 'The eUICC verifies smdpSignature2 on the bytes relayed by the bridge.',
    requirement: 'SGP.22 5.7.5 PrepareDownload (invalidSignature 2), 5.6.2 (the LPA relays the error)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ flips a bit of smdpSignature2'],
    steps: [
      { action: 'download with the Activation Code', expected: 'EuiccResultError ES10b.PrepareDownload invalidSignature (2)' },
      { action: 'check the card and the SM-DP+', expected: 'no BPP reached the card (no BF36); the SM-DP+ bound no BPP (no binding on the order); nothing installed; no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { corruptSignatures: ['smdpSignature2'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(EuiccResultError);
        expect([(error as EuiccResultError).fn, (error as EuiccResultError).code]).toEqual(['ES10b.PrepareDownload', 2]);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no BPP (BF36)');
        if (tags) expect(tags).not.toContain('BF36');
        expect(smdpOf(rt).state.order(order.iccid)?.binding).toBeUndefined();
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_WrongTransactionId',
    title: 'an smdpSigned2 naming another transaction is refused by the eUICC (invalidTransactionId 5)',
    group,
    iut: 'self',
    purpose: 'The eUICC ties PrepareDownload to the authenticated session.',
    requirement: 'SGP.22 5.7.5 PrepareDownload (invalidTransactionId 5)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ signs smdpSigned2 with another transactionId'],
    steps: [
      { action: 'download with the Activation Code', expected: 'EuiccResultError ES10b.PrepareDownload invalidTransactionId (5)' },
      { action: 'check the card', expected: 'no BPP reached it; nothing installed; no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { wrongTransactionId: ['smdpSigned2'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(EuiccResultError);
        expect([(error as EuiccResultError).fn, (error as EuiccResultError).code]).toEqual(['ES10b.PrepareDownload', 5]);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no BPP (BF36)');
        if (tags) expect(tags).not.toContain('BF36');
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

const pirSteps = (what: string, cmd: string, reason: string) => [
  { action: 'download with the Activation Code', expected: `ProfileInstallationError: bppCommandId ${cmd}, errorReason ${reason} (${what})` },
  { action: 'check the eUICC', expected: 'no profile, no BPP in progress; the failed PIR was delivered to the SM-DP+ and removed; no channel open' },
  { action: 'check the SM-DP+', expected: `the PIR accepted with result error, errorReason ${reason}; the entry in Error` },
];

async function checkFailedPir(c: CaseRun, rt: RigRuntime, a: Attempt, bppCommandId: number, errorReason: number): Promise<void> {
  await c.step(1, () => {
    expect(a.error).toBeInstanceOf(ProfileInstallationError);
    const e = a.error as ProfileInstallationError;
    expect([e.bppCommandId, e.errorReason]).toEqual([bppCommandId, errorReason]);
  });
  await c.step(2, () => {
    expectClean(c, rt, a.order);
    if (c.observe('cardState', 'no notification left on the card')) expect(euiccOf(rt).state.notifications()).toEqual([]);
  });
  await c.step(3, () => {
    const tid = toHex(a.rec.getBppCalls[0]!.transactionId).toUpperCase();
    const pir = smdpOf(rt).state.notifications().filter((n) => n.transactionId === tid);
    expect(pir.map((n) => [n.accepted, n.result, n.bppCommandId, n.errorReason])).toEqual([[true, 'error', bppCommandId, errorReason]]);
    expect(smdpState(rt, a.order.iccid)).toBe('Error');
  });
}

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_CorruptedSmdpSign',
    title: 'a BPP whose ISCR signature (smdpSign) is corrupted fails at initialiseSecureChannel with invalidSignature',
    group,
    iut: 'self',
    purpose: 'The eUICC refuses to derive session keys with a server it cannot verify; nothing of the profile is stored.',
    requirement: 'SGP.22 5.5.1 InitialiseSecureChannel, 5.7.6 (bppCommandId 0, invalidSignature 2)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ flips a bit of smdpSign'],
    steps: pirSteps('invalidSignature', 'initialiseSecureChannel (0)', '2'),
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      await checkFailedPir(c, rt, await failedDownload(c, rt, { corruptSignatures: ['smdpSign'] }), 0, 2);
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_IscrWrongTransactionId',
    title: 'a BPP whose ISCR names another transaction fails at initialiseSecureChannel with invalidTransactionId',
    group,
    iut: 'self',
    purpose: 'A BPP bound for another session is not loaded.',
    requirement: 'SGP.22 5.5.1, 5.7.6 (bppCommandId 0, invalidTransactionId 3)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ puts another transactionId into the ISCR'],
    steps: pirSteps('invalidTransactionId', 'initialiseSecureChannel (0)', '3'),
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      await checkFailedPir(c, rt, await failedDownload(c, rt, { wrongTransactionId: ['initialiseSecureChannel'] }), 0, 3);
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_CorruptedSegment86',
    title: 'a BPP with one corrupted byte in the first 86 segment fails at loadProfileElements with scp03tSecurityError',
    group,
    iut: 'self',
    purpose: 'A BPP damaged on the way (by the SM-DP+, the network or the bridge) is detected by its C-MAC: no half profile.',
    requirement: 'SGP.22 2.5.4 (SCP03t protection of the BPP), 5.7.6 (bppCommandId 5, scp03tSecurityError 8)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ flips one payload byte of the first 86 segment of every BPP'],
    steps: pirSteps('scp03tSecurityError', 'loadProfileElements (5)', '8'),
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      await checkFailedPir(c, rt, await failedDownload(c, rt, { corruptSegment86: 0 }), 5, 8);
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_TLS.ServerCertificate_ExpiredDPtls',
    title: 'an SM-DP+ presenting an expired DPtls certificate is refused by the LPA in the TLS handshake',
    group,
    iut: 'self', // the test LPA's TLS check decides; the bridge is not on the HTTPS path
    purpose: 'The LPA does not talk ES9+ to a server whose TLS certificate expired; the eUICC is never asked to authenticate it.',
    requirement: 'SGP.22 2.6.6 / 4.5.2.1 (TLS certificate validity), RFC 5280 6.1.3',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ presents a DPtls certificate whose validity ended yesterday'],
    steps: [
      { action: 'download with the Activation Code', expected: "Es9TransportError problem 'tls' on ES9+.initiateAuthentication" },
      { action: 'check the card', expected: 'only GetEUICCChallenge and GetEUICCInfo1 reached it; nothing installed; no channel open' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { expiredCertificates: ['dptls'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(Es9TransportError);
        expect([(error as Es9TransportError).fn, (error as Es9TransportError).problem]).toEqual(['ES9+.initiateAuthentication', 'tls']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got only GetEUICCChallenge and GetEUICCInfo1');
        if (tags) expect(tags).toEqual(['BF2E', 'BF20']);
        expectClean(c, rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.InitiateAuthentication_Http500',
    title: 'HTTP 500 on InitiateAuthentication ends the attempt at the LPA before the eUICC is involved',
    group,
    iut: 'self', // ends at the test LPA before any ES10 function of the download
    purpose: 'A server error is reported as such (not as a card error) and leaves the card as it was.',
    requirement: 'SGP.22 6.5.1 (HTTP binding: functions answer 200), 3.1.3',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ answers HTTP 500 to initiateAuthentication'],
    steps: [
      { action: 'download with the Activation Code', expected: "Es9TransportError 'http-status' 500 on ES9+.initiateAuthentication" },
      { action: 'check the card, then retry once the SM-DP+ recovered', expected: 'only GetEUICCChallenge/GetEUICCInfo1 reached it; nothing installed; no channel open; the retry installs' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { http500: true, functions: ['initiateAuthentication'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(Es9TransportError);
        const e = error as Es9TransportError;
        expect([e.fn, e.problem, e.details.httpStatus]).toEqual(['ES9+.initiateAuthentication', 'http-status', 500]);
      });
      await c.step(2, async () => {
        const tags = cardCommandTags(c, rt, 'the card got only GetEUICCChallenge and GetEUICCInfo1');
        if (tags) expect(tags).toEqual(['BF2E', 'BF20']);
        expectClean(c, rt, order);
        await retrySucceeds(rt, order);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.AuthenticateClient_Http500',
    title: 'HTTP 500 on AuthenticateClient after the eUICC authenticated the server: nothing installed, the order untouched, a retry installs',
    group,
    iut: 'self', // the test LPA's and SM-DP+'s handling of an HTTP error decides
    purpose: 'An aborted session between AuthenticateServer and PrepareDownload leaves nothing behind on the card or the server.',
    requirement: 'SGP.22 3.1.3, 5.6.3; 5.7.7 (a new GetEUICCChallenge replaces the eUICC session)',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ answers HTTP 500 to authenticateClient'],
    steps: [
      { action: 'download with the Activation Code', expected: "Es9TransportError 'http-status' 500 on ES9+.authenticateClient" },
      { action: 'check the card and the SM-DP+', expected: 'AuthenticateServer reached the card, PrepareDownload did not; nothing installed; no channel open; no download attempt counted' },
      { action: 'retry once the SM-DP+ recovered', expected: 'the profile installs' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { http500: true, functions: ['authenticateClient'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(Es9TransportError);
        const e = error as Es9TransportError;
        expect([e.fn, e.problem, e.details.httpStatus]).toEqual(['ES9+.authenticateClient', 'http-status', 500]);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the ES10 commands the card received');
        if (tags) {
          expect(tags).toContain('BF38');
          expect(tags).not.toContain('BF21');
        }
        expectClean(c, rt, order);
        expect(smdpOf(rt).state.order(order.iccid)?.downloadAttempts).toBe(0);
      });
      await c.step(3, () => retrySucceeds(rt, order));
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.GetBoundProfilePackage_MalformedJson',
    title: 'a GetBoundProfilePackage answer that is not JSON ends the attempt; the retry gets the same bound BPP and installs',
    group,
    iut: 'self', // the test LPA's JSON handling and the SM-DP+'s retry decide
    purpose: 'A BPP lost on the way back (after the SM-DP+ bound it) is recovered by the SGP.22 retry: the eUICC reuses its one-time key.',
    requirement: 'SGP.22 6.5.1 (JSON binding), 3.1.3 retry, 5.7.5 bppEuiccOtpk, 5.6.2',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ runs getBoundProfilePackage but answers a body that is not JSON'],
    steps: [
      { action: 'download with the Activation Code', expected: "Es9TransportError 'malformed-json' on ES9+.getBoundProfilePackage" },
      { action: 'check the card', expected: 'no BPP reached it (no BF36); nothing installed; no notification; no channel open' },
      { action: 'retry with the same Activation Code once the SM-DP+ recovered', expected: 'the profile installs, bound to the same otPK.EUICC as the first attempt' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { malformedJson: true, functions: ['getBoundProfilePackage'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(Es9TransportError);
        expect([(error as Es9TransportError).fn, (error as Es9TransportError).problem]).toEqual(['ES9+.getBoundProfilePackage', 'malformed-json']);
      });
      const binding = smdpOf(rt).state.order(order.iccid)?.binding;
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no BPP (BF36)');
        if (tags) expect(tags).not.toContain('BF36');
        if (c.observe('cardState', 'no notification left on the card')) expect(euiccOf(rt).state.notifications()).toEqual([]);
        expectClean(c, rt, order);
        expect(binding).toBeDefined();
      });
      await c.step(3, async () => {
        await retrySucceeds(rt, order);
        expect(smdpOf(rt).state.order(order.iccid)?.binding?.euiccOtpk).toBe(binding!.euiccOtpk);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.AuthenticateClient_MalformedJson',
    title: 'an AuthenticateClient answer that is not JSON ends the attempt before PrepareDownload; a retry installs',
    group,
    iut: 'self', // the test LPA's JSON handling decides
    purpose: 'The LPA does not pass anything of an unreadable answer to the eUICC.',
    requirement: 'SGP.22 6.5.1, 3.1.3',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ runs authenticateClient but answers a body that is not JSON'],
    steps: [
      { action: 'download with the Activation Code', expected: "Es9TransportError 'malformed-json' on ES9+.authenticateClient" },
      { action: 'check the card', expected: 'no PrepareDownload reached it; nothing installed; no channel open' },
      { action: 'retry once the SM-DP+ recovered', expected: 'the profile installs' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    try {
      const { order, error } = await failedDownload(c, rt, { malformedJson: true, functions: ['authenticateClient'] });
      await c.step(1, () => {
        expect(error).toBeInstanceOf(Es9TransportError);
        expect([(error as Es9TransportError).fn, (error as Es9TransportError).problem]).toEqual(['ES9+.authenticateClient', 'malformed-json']);
      });
      await c.step(2, () => {
        const tags = cardCommandTags(c, rt, 'the card got no PrepareDownload (BF21)');
        if (tags) expect(tags).not.toContain('BF21');
        expectClean(c, rt, order);
      });
      await c.step(3, () => retrySucceeds(rt, order));
    } finally {
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_ES9+.Download_ExpiredDPauthDPpb',
    title: 'an SM-DP+ presenting expired DPauth and DPpb certificates: refused by the eUICC (invalidCertificate 1) or, by an eUICC without a trusted clock, accepted',
    group,
    iut: 'self', // the eUICC's certificate check decides
    purpose: 'What an eUICC does with an expired server certificate reaches the LPA unchanged through the bridge, and a refusal leaves nothing behind.',
    requirement: 'SGP.22 4.5.2.1 (certificates must not be expired; the eUICC may not know the time), 5.7.13, 5.7.5',
    initialConditions: ['clean eUICC', 'a released order', 'the SM-DP+ presents CERT.DPauth and CERT.DPpb whose validity ended yesterday (same keys)'],
    steps: [
      { action: 'download with the Activation Code', expected: 'EuiccResultError ES10b.AuthenticateServer invalidCertificate (1), or the profile installs' },
      { action: 'check the eUICC and the SM-DP+', expected: 'refused: nothing installed, no channel open, session failed at the SM-DP+; accepted: the ordered ICCID installed and the SM-DP+ entry Installed' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await withCleanRig(c, rt, async () => {
      const order = await c.setup('released order', () => orderProfile(rt));
      await c.setup('SM-DP+ presents expired DPauth and DPpb', () => smdpOf(rt).control.set({ expiredCertificates: ['dpauth', 'dppb'] }));
      const outcome = await c.step(1, () =>
        withLpa(rt, async (lpa) => {
          try {
            const r = await lpa.downloadProfile(order.activationCode);
            expect(r.iccid).toBe(order.iccid);
            return 'accepted' as const;
          } catch (err) {
            expect(err).toBeInstanceOf(EuiccResultError);
            expect([(err as EuiccResultError).fn, (err as EuiccResultError).code]).toEqual(['ES10b.AuthenticateServer', 1]);
            return 'refused' as const;
          }
        }),
      );
      rt.trace.log('case', `the eUICC ${outcome} the expired certificates`);
      await c.step(2, () => {
        if (outcome === 'refused') {
          expectClean(c, rt, order);
          expect(smdpOf(rt).state.session(sessionId(rt))?.state).toBe('failed');
        } else {
          if (c.observe('cardState', 'the profile stored on the card')) expect(euiccOf(rt).state.profile(order.iccid)).toBeDefined();
          expect(smdpState(rt, order.iccid)).toBe('Installed');
          expectNoOpenLogicalChannel(c, rt);
        }
      });
    });
  },
);
