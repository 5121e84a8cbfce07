// ES9+ error cases of the test SM-DP+ (SGP.22 5.6.1-5.6.5), each provoked over loopback
// HTTPS and checked for its exact subject/reason code (SGP.22 5.6), plus
// rebinding (5.6.2), notifications with a bad transaction or signature (5.6.4) and the
// confirmation code (right / missing / wrong / retries exceeded).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decode } from '../rsp/der.ts';
import { EuiccSigned1 } from '../rsp/common.ts';
import { AuthenticateServerResponse } from '../rsp/es10b.ts';
import { CancelSessionReason } from '../rsp/results.ts';
import { bytesToBase64, base64ToBytes, Status, type AuthenticateClientOkJson, type InitiateAuthenticationOkJson } from '../rsp/json.ts';
import { parseTlv } from '../rsp/der.ts';
import { issueEuicc, issueEum, issueInvalid, randomEid } from '../../certs/issue.ts';
import { loadCert, loadKeyPair } from '../../certs/store.ts';
import { sign } from '../crypto/ecdsa.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import type { SmdpServer } from './server.ts';
import { SMDP_STATUS } from './errors.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, authenticate, code, codeOf, download, isSuccess, type RspReply } from './testing/client.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;
let client: RspClient;
let clock: number;
const DAY = 86_400_000;

async function restart(opts: Parameters<typeof startTestSmdp>[1] = {}): Promise<void> {
  await server.close();
  server = await startTestSmdp(dir, { now: () => clock, ...opts });
  client = new RspClient(server);
}

beforeEach(async () => {
  dir = tempDir();
  clock = Date.now();
  server = await startTestSmdp(dir, { now: () => clock });
  client = new RspClient(server);
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

async function init(euicc: TestEuicc, address = server.address): Promise<RspReply<InitiateAuthenticationOkJson>> {
  return client.initiateAuthentication(euicc.initiateAuthenticationBody(address));
}

/** initiateAuthentication + AuthenticateServer, then authenticateClient with an optionally tampered response. */
async function authClient(euicc: TestEuicc, matchingId: string | undefined, tamper?: (asr: Uint8Array) => Uint8Array): Promise<RspReply<AuthenticateClientOkJson>> {
  const ia = await init(euicc);
  expect(codeOf(ia)).toBe('ok');
  const asr = euicc.authenticateServer(ia.body, matchingId !== undefined ? { matchingId } : {});
  expect(asr.ok).toBe(true);
  return client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(tamper ? tamper(asr.der) : asr.der) });
}

/** Re-sign a modified euiccSigned1 with the SGP.26 eUICC key (a card that signs what it is told). */
function resigned(asr: Uint8Array, change: (s: EuiccSigned1) => EuiccSigned1): Uint8Array {
  const v = decode(AuthenticateServerResponse, asr);
  if (!('authenticateResponseOk' in v)) throw new Error('ok expected');
  const ok = v.authenticateResponseOk;
  const signed = change(ok.euiccSigned1);
  const key = loadKeyPair('EUICC_NIST');
  return AuthenticateServerResponse.encode({ authenticateResponseOk: { ...ok, euiccSigned1: signed, euiccSignature1: sign(key.curve, key.privateKey, EuiccSigned1.encode(signed)) } });
}

describe('ES9+.InitiateAuthentication errors', () => {
  it('8.8.1/3.8 for an SM-DP+ address that is not ours; both hostname and hostname:port are ours', async () => {
    expect(codeOf(await init(new TestEuicc(), 'other.example.com'))).toBe(code(Status.InvalidSmdpAddress));
    expect(codeOf(await init(new TestEuicc(), server.hostname.toUpperCase()))).toBe('ok');
    expect(codeOf(await init(new TestEuicc(), server.address))).toBe('ok');
  });
  it('8.8.2/3.1 when no CI of euiccCiPKIdListForVerification (or ForSigning) is ours', async () => {
    const unknown = '00'.repeat(20);
    expect(codeOf(await init(new TestEuicc({ ciForVerification: [unknown] })))).toBe(code(Status.NoSupportedCiPkId));
    expect(codeOf(await init(new TestEuicc({ ciForSigning: [unknown] })))).toBe(code(Status.NoSupportedCiPkId));
  });
  it('8.8.3/3.1 for an SVN other than 2.x', async () => {
    expect(codeOf(await init(new TestEuicc({ svn: Uint8Array.of(3, 0, 0) })))).toBe(code(Status.UnsupportedSvn));
  });
  it('picks the CI and DPauth of the curve the eUICC can verify', async () => {
    const brp = 'c0bc70ba36929d43b467ff57570530e57ab8fcd8';
    const r = await init(new TestEuicc({ ciForVerification: ['00'.repeat(20), brp] }));
    expect(codeOf(r)).toBe('ok');
    expect(toHex(base64ToBytes(r.body.euiccCiPKIdToBeUsed))).toBe('0414' + brp);
    expect(toHex(base64ToBytes(r.body.serverCertificate))).toBe(toHex(loadCert('DPauth_BRP').der));
  });
  it('400 with 1.1/2.2 for a request missing a field', async () => {
    const r = await client.initiateAuthentication({ smdpAddress: server.address, euiccChallenge: bytesToBase64(new Uint8Array(16)) });
    expect(r.status).toBe(400);
    expect(codeOf(r)).toBe(code(SMDP_STATUS.MissingElement));
  });
});

describe('ES9+.AuthenticateClient errors', () => {
  it('8.10.1/3.9 for an unknown transactionId', async () => {
    const r = await client.authenticateClient({ transactionId: '00'.repeat(16), authenticateServerResponse: bytesToBase64(new TestEuicc().euiccInfo1()) });
    expect(codeOf(r)).toBe(code(Status.UnknownTransactionId));
  });

  it('8.1.2/6.1 for an EUM certificate that does not verify, 8.1.2/6.3 for an expired one', async () => {
    const eum = loadCert('EUM_NIST').der.slice();
    eum[eum.length - 1]! ^= 1;
    const o = server.es2.order();
    expect(codeOf(await authClient(new TestEuicc({ eumCert: eum }), o.matchingId))).toBe(code(Status.EumCertificateInvalid));

    const eumKey = loadKeyPair('EUM_NIST');
    const expiredEum = await issueEum({ key: eumKey, notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const euiccCert = await issueEuicc({ eid: randomEid(), key: loadKeyPair('EUICC_NIST'), issuer: { cert: expiredEum.cert, key: eumKey } });
    const euicc = new TestEuicc({ cert: euiccCert.der, key: euiccCert.key, eumCert: expiredEum.der });
    expect(codeOf(await authClient(euicc, o.matchingId))).toBe(code(Status.EumCertificateExpired));
  });

  it('8.1.3/6.1 for an eUICC certificate that does not verify, 8.1.3/6.3 for an expired one', async () => {
    const o = server.es2.order();
    for (const [variant, status] of [
      ['badSignature', Status.EuiccCertificateInvalid],
      ['expired', Status.EuiccCertificateExpired],
      ['eidOutsidePrefix', Status.EuiccCertificateInvalid],
    ] as const) {
      const inv = await issueInvalid('euicc', variant);
      const euicc = new TestEuicc({ cert: inv.leaf.der, key: inv.leaf.key, eumCert: inv.intermediates[0]! });
      expect(codeOf(await authClient(euicc, o.matchingId)), variant).toBe(code(status));
    }
  });

  it('8.11.1/3.9 when the eUICC chain ends at a CI it did not list for signing', async () => {
    const brp = 'c0bc70ba36929d43b467ff57570530e57ab8fcd8';
    const o = server.es2.order();
    expect(codeOf(await authClient(new TestEuicc({ ciForSigning: [brp] }), o.matchingId))).toBe(code(Status.UnknownCiPublicKey));
  });

  it('8.1/6.1 for a bad euiccSignature1 and for a serverChallenge that is not the session one', async () => {
    const o = server.es2.order();
    const badSig = (asr: Uint8Array): Uint8Array => {
      const out = asr.slice();
      const v = decode(AuthenticateServerResponse, asr);
      if (!('authenticateResponseOk' in v)) throw new Error('ok expected');
      const sig = toHex(v.authenticateResponseOk.euiccSignature1);
      const at = toHex(out).indexOf(sig) / 2;
      out[at + 63]! ^= 1;
      return out;
    };
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId, badSig))).toBe(code(Status.EuiccSignatureInvalid));
    const otherChallenge = (asr: Uint8Array) => resigned(asr, (s) => ({ ...s, serverChallenge: new Uint8Array(16).fill(7) }));
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId, otherChallenge))).toBe(code(Status.EuiccSignatureInvalid));
    const otherTx = (asr: Uint8Array) => resigned(asr, (s) => ({ ...s, transactionId: new Uint8Array(16).fill(9) }));
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId, otherTx))).toBe(code(Status.UnknownTransactionId));
  });

  it('8.1/4.2 when the eUICC answered AuthenticateServer with an error', async () => {
    const ia = await init(new TestEuicc());
    const err = AuthenticateServerResponse.encode({ authenticateResponseError: { transactionId: hexToBytes(ia.body.transactionId), authenticateErrorCode: 2 } });
    const r = await client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(err) });
    expect(codeOf(r)).toBe(code(SMDP_STATUS.EuiccReturnedError));
    expect(server.state.session(ia.body.transactionId)!.state).toBe('failed');
  });

  it('8.1.1/3.8 when the order is bound to another EID', async () => {
    const o = server.es2.order({ eid: randomEid() });
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe(code(Status.EidRefused));
  });

  it('8.2.6/3.8 for an unknown MatchingID and for an empty one without an order for the EID', async () => {
    server.es2.order();
    expect(codeOf(await authClient(new TestEuicc(), 'NOSUC-HORDE-RXXXX-XXXXX'))).toBe(code(Status.MatchingIdRefused));
    expect(codeOf(await authClient(new TestEuicc(), undefined))).toBe(code(Status.MatchingIdRefused));
  });

  it('8.2/1.2 while the order is confirmed but not released', async () => {
    const o = server.es2.order({ release: false });
    expect(server.inventory.get(o.iccid)!.state).toBe('Confirmed');
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe(code(Status.ProfileNotReleased));
    server.es2.releaseProfile({ iccid: o.iccid });
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe('ok');
  });

  it('8.8.5/4.10 once the order has expired', async () => {
    await restart({ orderTtlMs: 60_000 });
    const o = server.es2.order();
    clock += 61_000;
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe(code(Status.DownloadOrderExpired));
  });

  it('8.8.5/6.4 after the download retry limit', async () => {
    await restart({ downloadRetryLimit: 2 });
    const o = server.es2.order();
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe('ok');
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe('ok');
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe(code(Status.MaxRetriesExceeded));
    expect(server.state.order(o.iccid)!.downloadAttempts).toBe(2);
  });

  it('a second authenticateClient in the same session is an unknown transaction (8.10.1/3.9)', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const ia = await init(euicc);
    const asr = euicc.authenticateServer(ia.body, { matchingId: o.matchingId });
    const body = { transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) };
    expect(codeOf(await client.authenticateClient(body))).toBe('ok');
    expect(codeOf(await client.authenticateClient(body))).toBe(code(Status.UnknownTransactionId));
  });
});

describe('ES9+.GetBoundProfilePackage errors and rebinding', () => {
  it('8.10.1/3.9 for an unknown transactionId or a session not yet authenticated', async () => {
    const r = await client.getBoundProfilePackage({ transactionId: 'ABCD', prepareDownloadResponse: 'vyEA' });
    expect(codeOf(r)).toBe(code(Status.UnknownTransactionId));
    const ia = await init(new TestEuicc());
    expect(codeOf(await client.getBoundProfilePackage({ transactionId: ia.body.transactionId, prepareDownloadResponse: 'vyEA' }))).toBe(code(Status.UnknownTransactionId));
  });

  it('8.1/6.1 for a bad euiccSignature2', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    const pd = euicc.prepareDownload(auth).der.slice();
    pd[pd.length - 1]! ^= 1;
    const r = await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(pd) });
    expect(codeOf(r)).toBe(code(Status.EuiccSignatureInvalid));
  });

  it('resends the same binding for the same otPK.EUICC and refuses a new one (8.2/3.7)', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const first = await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    // the LPA lost the BPP halfway: cancel with a retryable reason, the order stays Downloaded
    const cs = await client.cancelSession(first.transactionId, euicc.cancelSession(CancelSessionReason.loadBppExecutionError, server.smdpOid));
    expect(codeOf(cs)).toBe('ok');
    expect(server.inventory.get(o.iccid)!.state).toBe('Downloaded');

    // retry with the same otPK (bppEuiccOtpk offered by the SM-DP+): same protected segments, new ISCR
    const again = await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    expect(again.transactionId).not.toBe(first.transactionId);
    const seg = (bpp: Uint8Array) => parseTlv(bpp).children.slice(1).map((c) => toHex(c.raw)).join('');
    expect(seg(again.bpp)).toBe(seg(first.bpp));
    expect(toHex(again.load.transactionId)).toBe(again.transactionId.toLowerCase());
    expect(toHex(again.load.upp)).toBe(toHex(first.load.upp));

    // a third session with a fresh otPK.EUICC is refused
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    expect(auth.smdpSigned2).toBeDefined();
    const pd = euicc.prepareDownload(auth, { newOtpk: true });
    const r = await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) });
    expect(codeOf(r)).toBe(code(Status.BppNotAvailableForNewBinding));
  });

  it('gives the same BPP again when asked twice in one session', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    const body = { transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(euicc.prepareDownload(auth).der) };
    const a = await client.getBoundProfilePackage(body);
    const b = await client.getBoundProfilePackage(body);
    expect(isSuccess(a) && isSuccess(b)).toBe(true);
    expect(b.body.boundProfilePackage).toBe(a.body.boundProfilePackage);
  });

  it('8.8.5/4.10 when the order expires between AuthenticateClient and GetBoundProfilePackage', async () => {
    await restart({ orderTtlMs: 60_000 });
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    clock += 120_000;
    const r = await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(euicc.prepareDownload(auth).der) });
    expect(codeOf(r)).toBe(code(Status.DownloadOrderExpired));
  });
});

describe('confirmation code', () => {
  async function tryCc(matchingId: string, cc: string | undefined): Promise<string> {
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId });
    const pd = euicc.prepareDownload(auth, cc === undefined ? {} : { confirmationCode: cc });
    return codeOf(await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) }));
  }

  it('accepts the right code (ASCII hashing) and flags ccRequired in smdpSigned2 and the activation code', async () => {
    const o = server.es2.order({ confirmationCode: '1234' });
    expect(o.activationCode).toBe(`1$${server.address}$${o.matchingId}$$1`);
    expect(await tryCc(o.matchingId, '1234')).toBe('ok');
  });

  it('missing 8.2.7/2.2, wrong 8.2.7/3.8, then retries exceeded 8.2.7/6.4 (even with the right code)', async () => {
    const o = server.es2.order({ confirmationCode: '1234' });
    expect(await tryCc(o.matchingId, undefined)).toBe(code(Status.ConfirmationCodeMissing));
    expect(await tryCc(o.matchingId, '0000')).toBe(code(Status.ConfirmationCodeRefused));
    expect(await tryCc(o.matchingId, '1111')).toBe(code(Status.ConfirmationCodeRefused));
    expect(await tryCc(o.matchingId, '2222')).toBe(code(Status.ConfirmationCodeRetriesExceeded));
    expect(await tryCc(o.matchingId, '1234')).toBe(code(Status.ConfirmationCodeRetriesExceeded));
    expect(server.state.order(o.iccid)!.ccAttempts).toBe(3);
    expect(server.inventory.get(o.iccid)!.state).toBe('Released');
  });

  it('hex confirmation codes when configured', async () => {
    await restart({ ccEncoding: 'hex' });
    const o = server.es2.order({ confirmationCode: 'a1b2' });
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    const pd = euicc.prepareDownload(auth, { confirmationCode: 'a1b2', ccEncoding: 'hex' });
    expect(codeOf(await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) }))).toBe('ok');
  });

  it('never stores the code itself', async () => {
    const o = server.es2.order({ confirmationCode: 'SECRET-CC' });
    expect(JSON.stringify(server.state.order(o.iccid))).not.toContain('SECRET-CC');
  });
});

describe('ES9+.HandleNotification and CancelSession', () => {
  it('records a PIR of an unknown transaction or with a bad signature as rejected, 204 either way, no state change', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const d = await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    const unknown = euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid, transactionId: new Uint8Array(16).fill(1) });
    expect((await client.handleNotification(unknown)).status).toBe(204);
    const forged = euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }).slice();
    forged[forged.length - 1]! ^= 1;
    expect((await client.handleNotification(forged)).status).toBe(204);
    expect(server.inventory.get(o.iccid)!.state).toBe('Downloaded');
    expect(server.state.notifications().map((n) => [n.accepted, n.rejection])).toEqual([
      [false, 'unknownTransaction'],
      [false, 'badSignature'],
    ]);
    // the genuine one still works, a repeat of it is rejected as wrongState
    const pir = euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid });
    expect((await client.handleNotification(pir)).status).toBe(204);
    expect((await client.handleNotification(pir)).status).toBe(204);
    expect(server.state.notifications().map((n) => n.rejection ?? 'accepted')).toEqual(['unknownTransaction', 'badSignature', 'accepted', 'wrongState']);
    expect(server.inventory.get(o.iccid)!.state).toBe('Installed');
    expect(d.transactionId).toBeTruthy();
  });

  it('a PIR reporting an error moves the profile to Error', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid, error: { bppCommandId: 5, errorReason: 8 } }));
    expect(server.inventory.get(o.iccid)!.state).toBe('Error');
    expect(server.state.notifications()[0]).toMatchObject({ accepted: true, result: 'error', bppCommandId: 5, errorReason: 8 });
  });

  it('accepts other notifications (delete) with a valid eUICC signature and chain', async () => {
    const euicc = new TestEuicc();
    const iccid = server.inventory.list()[0]!.iccid;
    expect((await client.handleNotification(euicc.otherNotification('notificationDelete', iccid, server.address))).status).toBe(204);
    const eum = loadCert('EUM_NIST').der.slice();
    eum[eum.length - 1]! ^= 1;
    expect((await client.handleNotification(new TestEuicc({ eumCert: eum }).otherNotification('notificationEnable', iccid, server.address))).status).toBe(204);
    expect(server.state.notifications().map((n) => [n.kind, n.operations, n.accepted, n.rejection])).toEqual([
      ['otherSignedNotification', ['delete'], true, undefined],
      ['otherSignedNotification', ['enable'], false, 'badCertificate'],
    ]);
  });

  it('cancelSession: 8.10.1/3.9 unknown, 8.1/6.1 bad signature, 8.8/3.1 wrong SM-DP+ OID; endUserRejection ends the order', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const { init: ia } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    expect(codeOf(await client.cancelSession('00'.repeat(16), euicc.cancelSession(0, server.smdpOid)))).toBe(code(Status.UnknownTransactionId));
    const bad = euicc.cancelSession(0, server.smdpOid).slice();
    bad[bad.length - 1]! ^= 1;
    expect(codeOf(await client.cancelSession(ia.transactionId, bad))).toBe(code(Status.EuiccSignatureInvalid));
    expect(codeOf(await client.cancelSession(ia.transactionId, euicc.cancelSession(0, '2.999.12')))).toBe(code(Status.InvalidSmdpOid));
    expect(codeOf(await client.cancelSession(ia.transactionId, euicc.cancelSession(CancelSessionReason.endUserRejection, server.smdpOid)))).toBe('ok');
    expect(server.state.session(ia.transactionId)).toMatchObject({ state: 'cancelled', cancelReason: 0 });
    expect(server.inventory.get(o.iccid)!.state).toBe('Error');
    expect(codeOf(await authClient(new TestEuicc(), o.matchingId))).toBe(code(Status.MatchingIdRefused));
  });
});
