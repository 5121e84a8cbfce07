// LPA flows against a scripted ISD-R on the real card layer and a fake SM-DP+/SM-DS (the real
// eUICC and SM-DP+ are tested end to end elsewhere). Checks the ES10/ES9+ sequence, that
// server and eUICC bytes are relayed unchanged, the LPA's own checks and CancelSession.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusWordError } from '../apdu/sw.ts';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { hashConfirmationCode } from '../crypto/confirmation.ts';
import { decode, encode } from '../rsp/der.ts';
import { AuthenticateServerRequest, CancelSessionRequest, PrepareDownloadRequest } from '../rsp/es10b.ts';
import { bppSegmentsForLoading } from '../rsp/es8p.ts';
import { bytesToBase64, executedSuccess, failed, Status } from '../rsp/json.ts';
import { codecs } from '../rsp/registry.ts';
import { samples } from '../rsp/testdata/samples.ts';
import { ConfirmationCodeRequiredError, DownloadCancelledError, Es9Error, Es9TransportError, EuiccResultError, LpaCheckError, ProfileInstallationError } from './errors.ts';
import { Lpa, type LpaProgressEvent } from './flows.ts';
import { cardWithIsdr, ScriptedIsdr } from './testing/fake-isdr.ts';
import { FAKE_TX, FakeSmdp, FakeSmds, initiateAuthenticationResult } from './testing/fake-smdp.ts';
import { startRspTestServer, TEST_SMDP_HOST, type RspTestServer } from './testing/https-server.ts';

const der = (name: string, value: unknown = samples[name]) => encode(codecs[name]!, value);
const AC = `LPA:1$${TEST_SMDP_HOST}$ABC-1234`;
const SAMPLE_PIR = samples['ProfileInstallationResult'] as { profileInstallationResultData: Record<string, unknown>; euiccSignPIR: Uint8Array };

function isdrForDownload(): ScriptedIsdr {
  const isdr = new ScriptedIsdr()
    .on(0xbf2e, der('GetEuiccChallengeResponse'))
    .on(0xbf20, der('EUICCInfo1'))
    .on(0xbf38, der('AuthenticateServerResponse'))
    .on(0xbf21, der('PrepareDownloadResponse'))
    .on(0xbf41, der('CancelSessionResponse'))
    .on(0xbf30, der('NotificationSentResponse'))
    .on(0xbf3c, der('EuiccConfiguredAddressesResponse'));
  isdr.onBppSegment = (_seg, index) => (index === 8 ? der('ProfileInstallationResult') : new Uint8Array(0));
  return isdr;
}

function starts(events: LpaProgressEvent[]): string[] {
  return events.filter((e) => e.phase === 'start').map((e) => e.step);
}

describe('download by activation code', () => {
  let isdr: ScriptedIsdr;
  let smdp: FakeSmdp;
  let events: LpaProgressEvent[];
  let lpa: Lpa;

  beforeEach(async () => {
    isdr = isdrForDownload();
    smdp = new FakeSmdp();
    events = [];
    lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory, onProgress: (e) => events.push(e) });
  });
  afterEach(async () => {
    await lpa.close();
  });

  it('runs SGP.22 3.1.3 step by step, relaying server and eUICC bytes unchanged, and delivers the install notification', async () => {
    const r = await lpa.downloadProfile(AC);
    expect(starts(events)).toEqual([
      'lpa.parseActivationCode',
      'es10b.GetEUICCChallenge',
      'es10b.GetEUICCInfo1',
      'es9p.initiateAuthentication',
      'lpa.checkServerSigned1',
      'es10b.AuthenticateServer',
      'es9p.authenticateClient',
      'lpa.profileMetadata',
      'es10b.PrepareDownload',
      'es9p.getBoundProfilePackage',
      'es10b.LoadBoundProfilePackage',
      'es9p.handleNotification',
      'es10b.NotificationSent',
    ]);
    expect(events.filter((e) => e.phase === 'done')).toHaveLength(13);
    // InitiateAuthentication got the challenge and EUICCInfo1 as the eUICC returned them
    const init = smdp.callsOf('initiateAuthentication')[0]!;
    expect(init.address).toBe(TEST_SMDP_HOST);
    expect(init.args[1]).toEqual(der('EUICCInfo1'));
    // AuthenticateServer carries the server's TLVs byte for byte, plus ctxParams1 with the matching ID
    const expectedInit = initiateAuthenticationResult(TEST_SMDP_HOST, init.args[0]!, FAKE_TX);
    const asReq = isdr.requests(0xbf38)[0]!;
    const d = expectedInit.der;
    expect(toUpperHex(asReq)).toContain(toUpperHex(Uint8Array.from([...d.serverSigned1, ...d.serverSignature1, ...d.euiccCiPKIdToBeUsed, ...d.serverCertificate])));
    const asDecoded = decode(AuthenticateServerRequest, asReq);
    expect(asDecoded.ctxParams1.ctxParamsForCommonAuthentication.matchingId).toBe('ABC-1234');
    expect(asDecoded.ctxParams1.ctxParamsForCommonAuthentication.deviceInfo.tac).toEqual(hexToBytes('35290611'));
    // the eUICC's responses go to the SM-DP+ unchanged
    expect(smdp.callsOf('authenticateClient')[0]!.args).toEqual([FAKE_TX, der('AuthenticateServerResponse')]);
    expect(decode(PrepareDownloadRequest, isdr.requests(0xbf21)[0]!).hashCc).toBeUndefined();
    expect(smdp.callsOf('getBoundProfilePackage')[0]!.args).toEqual([FAKE_TX, der('PrepareDownloadResponse')]);
    expect(isdr.bppSegments.map(toUpperHex)).toEqual(bppSegmentsForLoading(smdp.bpp).map((s) => toUpperHex(s.bytes)));
    // install notification: the PIR to its notificationAddress, then NotificationSent
    expect(smdp.callsOf('handleNotification')[0]).toMatchObject({ address: 'testsmdpplus1.example.com', args: [der('ProfileInstallationResult')] });
    expect(isdr.requests(0xbf30).map(toUpperHex)).toEqual(['BF3003800107']);
    expect(r).toMatchObject({ smdpAddress: TEST_SMDP_HOST, iccid: '89000123456789012341', notification: { seqNumber: 7, delivered: true, removed: true } });
    expect(toUpperHex(r.isdpAid)).toBe('A0000005591010FFFFFFFF8900001000');
    expect(isdr.requests(0xbf41)).toHaveLength(0);
  });

  it('leaves the notification pending when asked', async () => {
    const r = await lpa.downloadProfile(AC, { notifications: 'leave' });
    expect(r.notification).toBeUndefined();
    expect(smdp.callsOf('handleNotification')).toHaveLength(0);
    expect(isdr.requests(0xbf30)).toHaveLength(0);
  });

  it('hashes the confirmation code with the transactionId when ccRequiredFlag is set (value or callback)', async () => {
    smdp.config.ccRequired = true;
    await lpa.downloadProfile(AC, { confirmationCode: '1234' });
    expect(decode(PrepareDownloadRequest, isdr.requests(0xbf21)[0]!).hashCc).toEqual(hashConfirmationCode('1234', FAKE_TX));
    let asked = 0;
    await lpa.downloadProfile(AC, {
      confirmationCode: () => {
        asked++;
        return 'abcd';
      },
    });
    expect(asked).toBe(1);
    expect(decode(PrepareDownloadRequest, isdr.requests(0xbf21)[1]!).hashCc).toEqual(hashConfirmationCode('abcd', FAKE_TX));
  });

  it('cancels (endUserRejection) and fails clearly when a confirmation code is required but missing', async () => {
    smdp.config.ccRequired = true;
    const err = await lpa.downloadProfile(AC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfirmationCodeRequiredError);
    expect(decode(CancelSessionRequest, isdr.requests(0xbf41)[0]!)).toEqual({ transactionId: FAKE_TX, reason: 0 });
    expect(smdp.callsOf('cancelSession')[0]!.args).toEqual([FAKE_TX, der('CancelSessionResponse')]);
    expect(isdr.requests(0xbf21)).toHaveLength(0);
  });

  it('asks the end user with the profile metadata; reject -> CancelSession 0, postpone -> 1', async () => {
    const offers: string[] = [];
    const reject = await lpa.downloadProfile(AC, { confirm: (o) => (offers.push(o.metadata.profileName), 'reject') }).catch((e: unknown) => e);
    expect(reject).toBeInstanceOf(DownloadCancelledError);
    expect(reject).toMatchObject({ reason: 0, reasonName: 'endUserRejection' });
    const postpone = await lpa.downloadProfile(AC, { confirm: () => 'postpone' }).catch((e: unknown) => e);
    expect(postpone).toMatchObject({ name: 'DownloadCancelledError', reason: 1, reasonName: 'postponed' });
    expect(offers).toEqual(['Test Profile']);
    expect(isdr.requests(0xbf41).map((r) => decode(CancelSessionRequest, r).reason)).toEqual([0, 1]);
    expect(smdp.callsOf('cancelSession')).toHaveLength(2);
    expect(isdr.requests(0xbf21)).toHaveLength(0);
  });
});

describe('the LPA rejects what the SM-DP+ answered mid-download (SGP.22 3.1.3)', () => {
  it('profile metadata that does not decode: CancelSession to the eUICC, then ES9+ CancelSession with its signed answer', async () => {
    const isdr = isdrForDownload();
    const rejected = new Es9TransportError('ES9+.authenticateClient', 'invalid-message', 'response field profileMetadata: not a valid StoreMetadataRequest', { field: 'profileMetadata' });
    const smdp = new FakeSmdp({ fail: { authenticateClient: rejected } });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    const err = await lpa.downloadProfile(AC).catch((e: unknown) => e);
    expect(err).toBe(rejected);
    expect(decode(CancelSessionRequest, isdr.requests(0xbf41)[0]!)).toEqual({ transactionId: FAKE_TX, reason: 127 });
    expect(smdp.callsOf('cancelSession').map((c) => c.args)).toEqual([[FAKE_TX, der('CancelSessionResponse')]]);
    expect(isdr.requests(0xbf21)).toHaveLength(0);
    await lpa.close();
  });

  it('a transport failure (no answer in time) is not a rejection of the content: no CancelSession', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp({ fail: { getBoundProfilePackage: new Es9TransportError('ES9+.getBoundProfilePackage', 'timeout', 'no answer') } });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    expect(await lpa.downloadProfile(AC).catch((e: unknown) => (e as Es9TransportError).problem)).toBe('timeout');
    expect(smdp.callsOf('cancelSession')).toHaveLength(0);
    await lpa.close();
  });
});

describe('LPA checks on serverSigned1 (SGP.22 3.1.2)', () => {
  it('cancels on both sides and names the check when serverAddress differs from the contacted SM-DP+', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp({ serverAddress: 'evil.example.com' });
    const events: LpaProgressEvent[] = [];
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory, onProgress: (e) => events.push(e) });
    const err = await lpa.downloadProfile(AC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LpaCheckError);
    expect(err).toMatchObject({ check: 'serverAddress', expected: TEST_SMDP_HOST, actual: 'evil.example.com', step: 'lpa.checkServerSigned1' });
    // eUICC: CancelSession(transactionId, undefinedReason); SM-DP+: cancelSession with the eUICC's answer
    expect(decode(CancelSessionRequest, isdr.requests(0xbf41)[0]!)).toEqual({ transactionId: FAKE_TX, reason: 127 });
    expect(smdp.callsOf('cancelSession')[0]!.args).toEqual([FAKE_TX, der('CancelSessionResponse')]);
    expect(isdr.requests(0xbf38)).toHaveLength(0);
    expect(smdp.callsOf('authenticateClient')).toHaveLength(0);
    expect(events.filter((e) => e.phase === 'start').map((e) => e.step).slice(-3)).toEqual(['lpa.checkServerSigned1', 'es10b.CancelSession', 'es9p.cancelSession']);
    expect(events.at(-1)).toMatchObject({ step: 'lpa.checkServerSigned1', phase: 'error', detail: { name: 'LpaCheckError', check: 'serverAddress' } });
    await lpa.close();
  });

  it('cancels when serverSigned1.transactionId differs from the transactionId of the response', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp({ signedTransactionId: hexToBytes('AA'.repeat(16)) });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    await expect(lpa.downloadProfile(AC)).rejects.toMatchObject({ name: 'LpaCheckError', check: 'transactionId', actual: 'AA'.repeat(16) });
    expect(isdr.requests(0xbf41)).toHaveLength(1);
    expect(smdp.callsOf('cancelSession')).toHaveLength(1);
  });

  it('uses a configured cancel reason, and keeps a failing ES9+.cancelSession in err.related', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp({ serverAddress: 'evil.example.com', fail: { cancelSession: new Es9Error('ES9+.cancelSession', 'Failed', { subjectCode: '8.10.1', reasonCode: '3.9' }, 'UnknownTransactionId') } });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory, checkFailureCancelReason: 4 });
    const err = (await lpa.downloadProfile(AC).catch((e: unknown) => e)) as LpaCheckError;
    expect(decode(CancelSessionRequest, isdr.requests(0xbf41)[0]!).reason).toBe(4);
    expect(err.related).toHaveLength(1);
    expect(err.related[0]).toBeInstanceOf(Es9Error);
  });

  describe('over real HTTPS', () => {
    let server: RspTestServer;
    afterEach(async () => {
      await server.close();
    });

    it('sends ES9+.cancelSession to the SM-DP+ with the eUICC CancelSessionResponse', async () => {
      server = await startRspTestServer((req) => {
        if (!req.path.endsWith('initiateAuthentication')) return { status: 200, body: executedSuccess() };
        const body = JSON.parse(req.body) as { euiccChallenge: string };
        const r = initiateAuthenticationResult('evil.example.com', Buffer.from(body.euiccChallenge, 'base64'), FAKE_TX);
        return {
          status: 200,
          body: {
            ...executedSuccess(),
            transactionId: toUpperHex(FAKE_TX),
            serverSigned1: bytesToBase64(r.der.serverSigned1),
            serverSignature1: bytesToBase64(r.der.serverSignature1),
            euiccCiPKIdToBeUsed: bytesToBase64(r.der.euiccCiPKIdToBeUsed),
            serverCertificate: bytesToBase64(r.der.serverCertificate),
          },
        };
      });
      const isdr = isdrForDownload();
      const lpa = await Lpa.open(cardWithIsdr(isdr), { http: { connect: { host: server.host, port: server.port }, timeoutMs: 5000 } });
      await expect(lpa.downloadProfile(AC)).rejects.toMatchObject({ name: 'LpaCheckError', check: 'serverAddress' });
      expect(server.requests.map((r) => r.path)).toEqual(['/gsma/rsp2/es9plus/initiateAuthentication', '/gsma/rsp2/es9plus/cancelSession']);
      expect(JSON.parse(server.requests[1]!.body)).toEqual({ transactionId: toUpperHex(FAKE_TX), cancelSessionResponse: bytesToBase64(der('CancelSessionResponse')) });
      await lpa.close();
    });
  });
});

describe('eUICC errors during a download', () => {
  it('relays an AuthenticateServer error to the SM-DP+ and throws it with its SGP.22 code and name', async () => {
    const isdr = isdrForDownload();
    const asError = der('AuthenticateServerResponse', { authenticateResponseError: { transactionId: FAKE_TX, authenticateErrorCode: 6 } });
    isdr.on(0xbf38, asError);
    const es9Failure = new Es9Error('ES9+.authenticateClient', 'Failed', { subjectCode: '8.1', reasonCode: '6.1' }, 'EuiccSignatureInvalid');
    const smdp = new FakeSmdp({ fail: { authenticateClient: es9Failure } });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    const err = (await lpa.downloadProfile(AC).catch((e: unknown) => e)) as EuiccResultError;
    expect(err).toBeInstanceOf(EuiccResultError);
    expect(err).toMatchObject({ fn: 'ES10b.AuthenticateServer', codeType: 'AuthenticateErrorCode', code: 6, codeName: 'euiccChallengeMismatch' });
    expect(err.related).toEqual([es9Failure]);
    expect(smdp.callsOf('authenticateClient')[0]!.args[1]).toEqual(asError);
  });

  it('relays a PrepareDownload error through GetBoundProfilePackage', async () => {
    const isdr = isdrForDownload();
    isdr.on(0xbf21, der('PrepareDownloadResponse', { downloadResponseError: { transactionId: FAKE_TX, downloadErrorCode: 5 } }));
    const smdp = new FakeSmdp();
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    await expect(lpa.downloadProfile(AC)).rejects.toMatchObject({ name: 'EuiccResultError', code: 5, codeName: 'invalidTransactionId', fn: 'ES10b.PrepareDownload' });
    expect(smdp.callsOf('getBoundProfilePackage')).toHaveLength(1);
    expect(isdr.bppSegments).toHaveLength(0);
  });

  it('reports a ProfileInstallationResult errorResult with bppCommandId/errorReason names after notifying the SM-DP+', async () => {
    const isdr = isdrForDownload();
    const errorPir = der('ProfileInstallationResult', {
      ...SAMPLE_PIR,
      profileInstallationResultData: { ...SAMPLE_PIR.profileInstallationResultData, finalResult: { errorResult: { bppCommandId: 1, errorReason: 7 } } },
    });
    isdr.onBppSegment = (_s, i) => (i === 1 ? errorPir : new Uint8Array(0));
    const smdp = new FakeSmdp();
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    const err = await lpa.downloadProfile(AC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProfileInstallationError);
    expect(err).toMatchObject({ bppCommandId: 1, bppCommandName: 'configureISDP', errorReason: 7, errorReasonName: 'scp03tStructureError', code: 7 });
    expect(isdr.bppSegments).toHaveLength(2);
    expect(smdp.callsOf('handleNotification')[0]!.args[0]).toEqual(errorPir);
    expect(isdr.requests(0xbf41)).toHaveLength(0);
  });

  it('cancels with loadBppExecutionError when a BPP segment is refused', async () => {
    const isdr = isdrForDownload();
    isdr.onBppSegment = (_s, i) => {
      if (i === 3) throw new StatusWordError(0x6a80);
      return new Uint8Array(0);
    };
    const smdp = new FakeSmdp();
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    await expect(lpa.downloadProfile(AC)).rejects.toMatchObject({ name: 'ApduError', sw: 0x6a80, step: 'es10b.LoadBoundProfilePackage' });
    expect(decode(CancelSessionRequest, isdr.requests(0xbf41)[0]!)).toEqual({ transactionId: FAKE_TX, reason: 5 });
    expect(smdp.callsOf('cancelSession')).toHaveLength(1);
  });

  it('names a transactionId mismatch in the AuthenticateClient response', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp({ laterTransactionId: hexToBytes('BB'.repeat(16)) });
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    await expect(lpa.downloadProfile(AC)).rejects.toMatchObject({ name: 'LpaCheckError', check: 'transactionId', where: 'ES9+.AuthenticateClient response' });
    expect(isdr.requests(0xbf41)).toHaveLength(1);
  });
});

describe('download from the default SM-DP+ and by SM-DS discovery', () => {
  it('takes the default SM-DP+ address from GetEuiccConfiguredAddresses and sends an empty matching ID', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp();
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    const r = await lpa.downloadFromDefaultSmdp();
    expect(r.smdpAddress).toBe('testsmdpplus1.example.com');
    expect(decode(AuthenticateServerRequest, isdr.requests(0xbf38)[0]!).ctxParams1.ctxParamsForCommonAuthentication.matchingId).toBe('');
  });

  it('fails with LpaConfigurationError when there is no default SM-DP+ address', async () => {
    const isdr = isdrForDownload().on(0xbf3c, der('EuiccConfiguredAddressesResponse', { rootDsAddress: 'lpa.ds.gsma.com' }));
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: new FakeSmdp().factory });
    await expect(lpa.downloadFromDefaultSmdp()).rejects.toMatchObject({ name: 'LpaConfigurationError' });
  });

  it('asks the root SM-DS for events and downloads from the event SM-DP+ with the event id as matching ID', async () => {
    const isdr = isdrForDownload();
    const smdp = new FakeSmdp();
    const smds = new FakeSmds([{ eventId: 'EVT-1', rspServerAddress: 'smdp.example.org' }]);
    const events: LpaProgressEvent[] = [];
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory, es11Factory: smds.factory, onProgress: (e) => events.push(e) });
    const r = await lpa.downloadFromSmds({ notifications: 'leave' });
    expect(smds.calls.map((c) => [c.fn, c.address])).toEqual([
      ['initiateAuthentication', 'lpa.ds.gsma.com'],
      ['authenticateClient', 'lpa.ds.gsma.com'],
    ]);
    const ctx = isdr.requests(0xbf38).map((q) => decode(AuthenticateServerRequest, q).ctxParams1.ctxParamsForCommonAuthentication.matchingId);
    expect(ctx).toEqual([undefined, 'EVT-1']);
    expect(smdp.callsOf('initiateAuthentication')[0]!.address).toBe('smdp.example.org');
    expect(r.smdpAddress).toBe('smdp.example.org');
    expect(starts(events).slice(0, 7)).toEqual([
      'es10a.GetEuiccConfiguredAddresses',
      'es10b.GetEUICCChallenge',
      'es10b.GetEUICCInfo1',
      'es11.initiateAuthentication',
      'lpa.checkServerSigned1',
      'es10b.AuthenticateServer',
      'es11.authenticateClient',
    ]);
  });

  it('checks the SM-DS serverAddress too (CancelSession on the eUICC only: ES11 has none)', async () => {
    const isdr = isdrForDownload();
    const smds = new FakeSmds([], 'evil.example.com');
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: new FakeSmdp().factory, es11Factory: smds.factory });
    await expect(lpa.discoverEvents({ smdsAddress: 'lpa.ds.gsma.com' })).rejects.toMatchObject({ name: 'LpaCheckError', check: 'serverAddress' });
    expect(isdr.requests(0xbf41)).toHaveLength(1);
  });
});

describe('local profile management, notifications, chip info', () => {
  it('lists profiles and turns eUICC result codes into EuiccResultError with their names', async () => {
    const isdr = new ScriptedIsdr()
      .on(0xbf2d, der('ProfileInfoListResponse'))
      .on(0xbf31, hexToBytes('BF3103800102'))
      .on(0xbf32, hexToBytes('BF3203800100'))
      .on(0xbf33, hexToBytes('BF3303800101'))
      .on(0xbf29, hexToBytes('BF2903800100'))
      .on(0xbf34, hexToBytes('BF3403800100'));
    const lpa = await Lpa.open(cardWithIsdr(isdr));
    expect((await lpa.listProfiles())[0]!.profileNickname).toBe('Work');
    await expect(lpa.enableProfile({ iccid: '89000123456789012341' })).rejects.toMatchObject({ name: 'EuiccResultError', code: 2, codeName: 'profileNotInDisabledState', step: 'es10c.EnableProfile' });
    await expect(lpa.disableProfile({ iccid: '89000123456789012341' })).resolves.toEqual([]);
    await expect(lpa.deleteProfile({ iccid: '89000123456789012341' })).rejects.toMatchObject({ code: 1, codeName: 'iccidOrAidNotFound' });
    await lpa.setNickname('89000123456789012341', 'Home');
    await lpa.memoryReset(['deleteFieldLoadedTestProfiles']);
    expect(toUpperHex(isdr.requests(0xbf34)[0]!)).toBe('BF340482020640');
  });

  it('processes notifications: retrieve each, HandleNotification to its address, NotificationSent; remove and errors', async () => {
    const isdr = new ScriptedIsdr()
      .on(0xbf28, der('ListNotificationResponse'))
      .on(0xbf2b, der('RetrieveNotificationsListResponse'))
      .on(0xbf30, der('NotificationSentResponse'));
    const smdp = new FakeSmdp();
    const lpa = await Lpa.open(cardWithIsdr(isdr), { es9pFactory: smdp.factory });
    expect((await lpa.listNotifications()).map((n) => n.seqNumber)).toEqual([7]);
    const delivered = await lpa.processNotifications();
    expect(delivered).toMatchObject([{ seqNumber: 7, notificationAddress: 'testsmdpplus1.example.com', operation: ['notificationInstall'], delivered: true, removed: true }]);
    expect(toUpperHex(isdr.requests(0xbf2b)[0]!)).toBe('BF2B05A003800107');
    expect(smdp.callsOf('handleNotification')[0]!.args[0]).toEqual(der('ProfileInstallationResult'));
    expect(isdr.requests(0xbf30)).toHaveLength(1);
    await lpa.processNotifications({ remove: false });
    expect(isdr.requests(0xbf30)).toHaveLength(1);
    await expect(lpa.processNotifications({ seqNumbers: [99] })).rejects.toMatchObject({ name: 'LpaConfigurationError' });
    isdr.on(0xbf30, hexToBytes('BF3003800101'));
    await expect(lpa.removeNotification(7)).rejects.toMatchObject({ codeType: 'DeleteNotificationStatus', code: 1, codeName: 'nothingToDelete' });
    smdp.config.fail = { handleNotification: new Es9Error('ES9+.handleNotification', 'Failed', failed(Status.UnknownTransactionId).header.functionExecutionStatus.statusCodeData!, 'UnknownTransactionId') };
    await expect(lpa.processNotifications()).rejects.toBeInstanceOf(Es9Error);
  });

  it('reads chip info: EID, configured addresses, RAT and EUICCInfo2, in that order', async () => {
    const isdr = new ScriptedIsdr()
      .on(0xbf3e, der('GetEuiccDataResponse'))
      .on(0xbf3c, der('EuiccConfiguredAddressesResponse'))
      .on(0xbf43, der('GetRatResponse'))
      .on(0xbf22, der('EUICCInfo2'));
    const lpa = await Lpa.open(cardWithIsdr(isdr));
    const info = await lpa.chipInfo();
    expect(info.eid).toBe('89049032123451234512345678901235');
    expect(info.configuredAddresses.rootDsAddress).toBe('lpa.ds.gsma.com');
    expect(info.rat).toHaveLength(2);
    expect(info.euiccInfo2.sasAcreditationNumber).toBe('GI-BA-UP-0419');
    expect(isdr.received.map((r) => r.tag)).toEqual([0xbf3e, 0xbf3c, 0xbf43, 0xbf22]);
  });
});
