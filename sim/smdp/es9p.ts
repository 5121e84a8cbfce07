// ES9+ (LPA -> SM-DP+, SGP.22 5.6): AuthenticateClient (5.6.3: eUICC authentication, order
// selection by MatchingID or EID, eligibility/expiry/retry checks, metadata, smdpSigned2 +
// smdpSignature2), GetBoundProfilePackage (5.6.2: euiccSignature2, hashCc, rebinding rules,
// BPP binding 2.5.4), HandleNotification (5.6.4: PIR and other notifications) and
// CancelSession (5.6.5). InitiateAuthentication (5.6.1) is in auth.ts. Every detected error
// is an RspFunctionError with the subject/reason codes SGP.22 5.6 gives the function.
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, derOf } from '../rsp/der.ts';
import { EuiccSigned2, NotificationMetadata, Signature, SmdpSigned2, type NotificationEvent } from '../rsp/common.ts';
import { CancelSessionResponse, EuiccCancelSessionSigned, PendingNotification, PrepareDownloadResponse, ProfileInstallationResultData } from '../rsp/es10b.ts';
import { CancelSessionReason, DownloadErrorCode } from '../rsp/results.ts';
import { iccidFromBytes } from '../rsp/iccid.ts';
import {
  base64ToBytes,
  bytesToBase64,
  decodeField,
  parseAuthenticateClientRequest,
  parseCancelSessionRequest,
  parseGetBoundProfilePackageRequest,
  parseHandleNotificationRequest,
  Status,
  transactionIdToHex,
  type AuthenticateClientOkJson,
  type GetBoundProfilePackageOkJson,
  type StatusCode,
} from '../rsp/json.ts';
import { verifyChain } from '../../certs/chain.ts';
import { parseCert } from '../../certs/cert.ts';
import { verify } from '../crypto/ecdsa.ts';
import { confirmationCodeBytes } from '../crypto/confirmation.ts';
import { CryptoError } from '../crypto/errors.ts';
import { equalBytes, hexToBytes, toHex, toUpperHex } from '../bytes.ts';
import { RspFunctionError, SMDP_STATUS } from './errors.ts';
import type { SmdpCore } from './core.ts';
import type { NotificationOperation, NotificationRecord, OrderRecord, ProfileRecord } from './db.ts';
import { notificationKey } from './db.ts';
import { DOWNLOADABLE_STATES, NOT_RELEASED_STATES } from './inventory-state.ts';
import { personalisedUpp } from './inventory.ts';
import { buildMetadata, encodeMetadata } from './metadata.ts';
import { assembleBpp, bindProfile, buildIscr, corruptSegment86 } from './bpp.ts';
import { flipLastBit, wrongTransactionId } from './misbehaviour.ts';
import { guarded, liveSession, sessionFor, verifyAuthenticateServerResponse, verifyWithSessionCert } from './auth.ts';
import { makeRoomForNotification } from './retention.ts';
import { safeText } from './safe-text.ts';
import { sessionAllows, type SessionRecord } from './session.ts';
import type { ProgressEvent } from './progress.ts';

function failedStatus(status: StatusCode, message?: string): ProgressEvent['status'] {
  return { status: 'Failed', statusCodeData: { subjectCode: status.subjectCode, reasonCode: status.reasonCode, message: message ?? status.message } };
}

function progressFor(core: SmdpCore, profile: ProfileRecord, eid: string | undefined, point: ProgressEvent['point'], status: ProgressEvent['status'], resultData?: string): void {
  core.progress.notify({ point, iccid: profile.iccid, profileType: profile.profileType, status, ...(eid !== undefined ? { eid } : {}), ...(resultData !== undefined ? { resultData } : {}) });
}

function jsonTransactionId(core: SmdpCore, hex: string): string {
  const id = hexToBytes(hex);
  return transactionIdToHex(core.misbehaviour.wrongTransactionId?.includes('response') ? wrongTransactionId(id) : id);
}

/** Host identifier of the BSP key derivation (5.5.1 CRT tag 84): the SM-DP+ OID in ASCII. */
function hostIdOf(core: SmdpCore): Uint8Array {
  return new TextEncoder().encode(core.credentials.smdpOid).subarray(0, 16);
}

/** StoreMetadataRequest DER of an inventory entry (5.5.3). */
function metadataOf(core: SmdpCore, profile: ProfileRecord): Uint8Array {
  const headerProfileType = core.templates.get(profile.template)?.headerProfileType;
  return encodeMetadata(
    buildMetadata({
      iccid: profile.iccid,
      template: profile.template,
      ...(headerProfileType !== undefined ? { headerProfileType } : {}),
      smdpAddress: core.address,
      overrides: profile.metadata,
    }),
  );
}

// ---------------------------------------------------------------------------
// AuthenticateClient (5.6.3)

interface SelectedOrder {
  order: OrderRecord;
  profile: ProfileRecord;
}

/** Find the order of this download: by MatchingID, or (empty MatchingID) the pending order for the EID. */
function selectOrder(core: SmdpCore, eid: string, matchingId: string | undefined): SelectedOrder {
  let order: OrderRecord | undefined;
  if (matchingId) {
    order = core.orderByMatchingId(matchingId);
    if (!order || order.closed) throw new RspFunctionError(Status.MatchingIdRefused, `no download order with MatchingID '${matchingId}'`);
  } else {
    const candidates = core.db.orders
      .values()
      .filter((o) => !o.closed && o.eid === eid)
      .map((o) => ({ order: o, profile: core.db.profiles.get(o.iccid) }))
      .filter((c): c is SelectedOrder => c.profile !== undefined)
      .sort((a, b) => a.order.createdAt - b.order.createdAt);
    const ready = candidates.find((c) => DOWNLOADABLE_STATES.includes(c.profile.state));
    if (ready) return ready;
    if (candidates.some((c) => NOT_RELEASED_STATES.includes(c.profile.state)))
      throw new RspFunctionError(Status.ProfileNotReleased, `the download order for EID ${eid} is not released yet`);
    throw new RspFunctionError(Status.MatchingIdRefused, `empty MatchingID and no pending download order for EID ${eid}`);
  }
  const profile = core.db.profiles.get(order.iccid);
  if (!profile) throw new RspFunctionError(Status.MatchingIdRefused, `the profile of order ${order.orderId} is gone`);
  return { order, profile };
}

export function authenticateClient(core: SmdpCore, body: unknown): AuthenticateClientOkJson {
  const req = parseAuthenticateClientRequest(body);
  const session = sessionFor(core, req.transactionId, 'authenticateClient');
  let known: { profile: ProfileRecord; eid: string } | undefined;
  try {
    return guarded(core, session, () => {
      const auth = verifyAuthenticateServerResponse(core, session, 'authenticateServerResponse', req.authenticateServerResponse);
      const creds = core.credentials.forCi(session.ciKeyId, core.expiredCerts());
      if (!creds) throw new RspFunctionError(Status.NoDpAuthCertificateForCi);
      const m = core.misbehaviour;

      return core.db.tx(() => {
        const { order: found, profile } = selectOrder(core, auth.eid, auth.ctx.matchingId);
        known = { profile, eid: auth.eid };
        if (found.eid !== undefined && found.eid !== auth.eid) throw new RspFunctionError(Status.EidRefused, `the order is for EID ${found.eid}, not ${auth.eid}`);
        if (NOT_RELEASED_STATES.includes(profile.state)) throw new RspFunctionError(Status.ProfileNotReleased, `profile ${profile.iccid} is ${profile.state}`);
        if (!DOWNLOADABLE_STATES.includes(profile.state)) throw new RspFunctionError(Status.MatchingIdRefused, `profile ${profile.iccid} is ${profile.state}`);
        if (core.now() > found.expiresAt) throw new RspFunctionError(Status.DownloadOrderExpired, `the order expired ${new Date(found.expiresAt).toISOString()}`);
        if (found.downloadAttempts >= core.options.downloadRetryLimit)
          throw new RspFunctionError(Status.MaxRetriesExceeded, `${found.downloadAttempts} download attempts, limit ${core.options.downloadRetryLimit}`);
        const order: OrderRecord = { ...found, eid: auth.eid, downloadAttempts: found.downloadAttempts + 1 };
        core.putOrder(order);

        const metadata = metadataOf(core, profile);
        const txid = hexToBytes(session.transactionId);
        const smdpSigned2 = SmdpSigned2.encode({
          transactionId: m.wrongTransactionId?.includes('smdpSigned2') ? wrongTransactionId(txid) : txid,
          ccRequiredFlag: order.ccHash !== undefined,
          ...(order.binding ? { bppEuiccOtpk: hexToBytes(order.binding.euiccOtpk) } : {}),
        });
        let smdpSignature2 = creds.dpPb.sign(concat([smdpSigned2, Signature.encode(auth.euiccSignature1)]));
        if (m.corruptSignatures?.includes('smdpSignature2')) smdpSignature2 = flipLastBit(smdpSignature2);

        const next: SessionRecord = {
          ...session,
          state: 'clientAuthenticated',
          updatedAt: core.now(),
          eid: auth.eid,
          euiccCertificate: toHex(auth.euiccCert.der),
          orderId: order.orderId,
          iccid: profile.iccid,
          smdpSigned2: toHex(smdpSigned2),
          smdpSignature2: toHex(smdpSignature2),
          ccRequired: order.ccHash !== undefined,
          ...(order.binding ? { bppEuiccOtpk: order.binding.euiccOtpk } : {}),
        };
        core.db.sessions.put(next.transactionId, next);
        progressFor(core, profile, auth.eid, 'eligibilityAndRetryLimitCheck', { status: 'Executed-Success' });
        core.log('info', `session ${session.transactionId}: EID ${auth.eid} authenticated for profile ${profile.iccid}`);
        return {
          transactionId: jsonTransactionId(core, session.transactionId),
          profileMetadata: bytesToBase64(metadata),
          smdpSigned2: bytesToBase64(smdpSigned2),
          smdpSignature2: bytesToBase64(Signature.encode(smdpSignature2)),
          smdpCertificate: bytesToBase64(creds.dpPb.cert.der),
        };
      });
    });
  } catch (e) {
    if (e instanceof RspFunctionError && known) progressFor(core, known.profile, known.eid, 'eligibilityAndRetryLimitCheck', failedStatus(e.status, e.message));
    throw e;
  }
}

// ---------------------------------------------------------------------------
// GetBoundProfilePackage (5.6.2)

type BppOutcome = { ok: true; bpp: Uint8Array } | { ok: false; error: RspFunctionError; ccFailure: boolean };

export function getBoundProfilePackage(core: SmdpCore, body: unknown): GetBoundProfilePackageOkJson {
  const req = parseGetBoundProfilePackageRequest(body);
  const session = sessionFor(core, req.transactionId, 'getBoundProfilePackage');
  const bpp = guarded(core, session, () => {
    const pdr = decodeField('prepareDownloadResponse', req.prepareDownloadResponse, PrepareDownloadResponse);
    if ('downloadResponseError' in pdr) {
      const code = pdr.downloadResponseError.downloadErrorCode;
      throw new RspFunctionError(SMDP_STATUS.EuiccReturnedError, `PrepareDownload failed on the eUICC: downloadErrorCode ${DownloadErrorCode.describe(code)} (${code})`);
    }
    const ok = pdr.downloadResponseOk;
    const signed2 = derOf(EuiccSigned2, ok.euiccSigned2);
    const smdpSignature2 = Signature.encode(hexToBytes(session.smdpSignature2 ?? ''));
    if (!verifyWithSessionCert(session, concat([signed2, smdpSignature2]), ok.euiccSignature2))
      throw new RspFunctionError(Status.EuiccSignatureInvalid, 'euiccSignature2 does not verify over euiccSigned2 || smdpSignature2');
    const signedTx = toUpperHex(ok.euiccSigned2.transactionId);
    if (signedTx !== session.transactionId) throw new RspFunctionError(Status.UnknownTransactionId, `euiccSigned2.transactionId ${signedTx} is not the session's`);
    const euiccOtpk = ok.euiccSigned2.euiccOtpk;

    if (session.state === 'bppDelivered') {
      // the LPA asks again in the same session: the same BPP, or nothing
      const stored = session.bppKey ? core.db.blobs.get(session.bppKey) : undefined;
      if (stored && session.euiccOtpk === toHex(euiccOtpk)) return stored;
      throw new RspFunctionError(Status.BppNotAvailableForNewBinding, 'this session already delivered a BPP bound to another otPK.EUICC');
    }

    const outcome = core.db.tx((): BppOutcome => {
      const held = core.heldOrder(session);
      if (!held || !DOWNLOADABLE_STATES.includes(held.profile.state))
        return { ok: false, error: new RspFunctionError(Status.MatchingIdRefused, 'the download order is no longer pending'), ccFailure: false };
      const { order, profile } = held;
      if (core.now() > order.expiresAt)
        return { ok: false, error: new RspFunctionError(Status.DownloadOrderExpired, `the order expired ${new Date(order.expiresAt).toISOString()}`), ccFailure: false };

      if (order.ccHash !== undefined) {
        const limit = core.options.ccRetryLimit;
        if (order.ccAttempts >= limit)
          return { ok: false, error: new RspFunctionError(Status.ConfirmationCodeRetriesExceeded, `${order.ccAttempts} wrong confirmation codes, limit ${limit}`), ccFailure: true };
        if (ok.euiccSigned2.hashCc === undefined) return { ok: false, error: new RspFunctionError(Status.ConfirmationCodeMissing), ccFailure: true };
        const expected = sha256(concat([hexToBytes(order.ccHash), hexToBytes(session.transactionId)]));
        if (!equalBytes(expected, ok.euiccSigned2.hashCc)) {
          const attempts = order.ccAttempts + 1;
          core.putOrder({ ...order, ccAttempts: attempts });
          const status = attempts >= limit ? Status.ConfirmationCodeRetriesExceeded : Status.ConfirmationCodeRefused;
          return { ok: false, error: new RspFunctionError(status, `wrong confirmation code (attempt ${attempts} of ${limit})`), ccFailure: true };
        }
      }

      const creds = core.credentials.forCi(session.ciKeyId, core.expiredCerts());
      if (!creds) return { ok: false, error: new RspFunctionError(Status.NoDpAuthCertificateForCi), ccFailure: false };
      const m = core.misbehaviour;
      const txid = hexToBytes(session.transactionId);
      const iscrTx = m.wrongTransactionId?.includes('initialiseSecureChannel') ? wrongTransactionId(txid) : txid;
      const corruptSmdpSign = m.corruptSignatures?.includes('smdpSign') ?? false;
      let bpp: Uint8Array;
      let nextOrder = order;
      if (order.binding) {
        // SGP.22 5.6.2: a BPP already bound is only given again for the same otPK.EUICC.ECKA
        if (order.binding.euiccOtpk !== toHex(euiccOtpk))
          return { ok: false, error: new RspFunctionError(Status.BppNotAvailableForNewBinding, 'the BPP of this order is bound to another otPK.EUICC.ECKA'), ccFailure: false };
        const segments = core.db.blobs.get(order.binding.segmentsKey);
        if (!segments) return { ok: false, error: new RspFunctionError(Status.BppNotAvailableForNewBinding, 'the bound BPP is no longer stored'), ccFailure: false };
        const iscr = buildIscr({
          transactionId: iscrTx,
          hostId: hexToBytes(order.binding.hostId),
          smdpOtpk: hexToBytes(order.binding.smdpOtpk),
          euiccOtpk,
          dpPb: creds.dpPb,
          ...(corruptSmdpSign ? { corruptSignature: true } : {}),
        });
        bpp = assembleBpp(iscr, segments);
      } else {
        const hostId = hostIdOf(core);
        let bound;
        try {
          bound = bindProfile({
            curve: session.curve,
            dpPb: creds.dpPb,
            transactionId: txid,
            iscrTransactionId: iscrTx,
            eid: session.eid!,
            euiccOtpk,
            hostId,
            metadata: metadataOf(core, profile),
            configureIsdp: { dpProprietaryData: { dpOid: core.credentials.smdpOid } },
            upp: personalisedUpp(core.templates, profile),
            segmentSize: core.options.segmentSize,
            replaceSessionKeys: core.options.replaceSessionKeys,
            corruptSmdpSign,
          });
        } catch (e) {
          if (e instanceof CryptoError) return { ok: false, error: new RspFunctionError(Status.EuiccSignatureInvalid, `otPK.EUICC.ECKA unusable: ${e.message}`), ccFailure: false };
          throw e;
        }
        bpp = bound.bpp;
        const segmentsKey = `segments:${order.orderId}`;
        core.db.blobs.put(segmentsKey, bound.segments);
        nextOrder = {
          ...order,
          binding: {
            euiccOtpk: toHex(euiccOtpk),
            smdpOtpk: toHex(bound.smdpOtpk),
            hostId: toHex(hostId),
            transactionId: session.transactionId,
            segmentsKey,
            replaceSessionKeys: core.options.replaceSessionKeys,
            segmentCount86: bound.segmentCount86,
          },
        };
        core.putOrder(nextOrder);
      }
      const bppKey = `bpp:${session.transactionId}`;
      core.db.blobs.put(bppKey, bpp);
      if (profile.state === 'Released') core.transitionProfile(profile, 'bppDownloaded');
      core.db.sessions.put(session.transactionId, { ...session, state: 'bppDelivered', updatedAt: core.now(), euiccOtpk: toHex(euiccOtpk), bppKey });
      progressFor(core, profile, session.eid, 'bppDownload', { status: 'Executed-Success' });
      core.log('info', `session ${session.transactionId}: BPP for ${profile.iccid} delivered (${bpp.byteLength} bytes${order.binding ? ', same binding as before' : ''})`);
      return { ok: true, bpp };
    });
    if (!outcome.ok) {
      const profile = session.iccid ? core.db.profiles.get(session.iccid) : undefined;
      if (profile) progressFor(core, profile, session.eid, outcome.ccFailure ? 'confirmationFailure' : 'bppDownload', failedStatus(outcome.error.status, outcome.error.message));
      throw outcome.error;
    }
    return outcome.bpp;
  });
  const n = core.misbehaviour.corruptSegment86;
  const sent = n === undefined ? bpp : corruptSegment86(bpp, n);
  return { transactionId: jsonTransactionId(core, session.transactionId), boundProfilePackage: bytesToBase64(sent) };
}

/** SHA-256 of the confirmation code bytes, as stored with an order (hashCc = SHA256(this || transactionId)). */
export function confirmationCodeDigest(code: string, encoding: 'ascii' | 'hex'): string {
  return toHex(sha256(confirmationCodeBytes(code, encoding)));
}

// ---------------------------------------------------------------------------
// HandleNotification (5.6.4)

const OPERATION_OF: Record<NotificationEvent[number], NotificationOperation | undefined> = {
  notificationInstall: 'install',
  notificationEnable: 'enable',
  notificationDisable: 'disable',
  notificationDelete: 'delete',
};

function operationsOf(ev: NotificationEvent): NotificationOperation[] {
  return ev.map((f) => OPERATION_OF[f]).filter((o): o is NotificationOperation => o !== undefined);
}

/**
 * Largest notification kept with its bytes. A PIR or an OtherSignedNotification with its
 * two certificates is 0.3-2 KB; anything larger is kept as size and digest only.
 */
export const MAX_STORED_NOTIFICATION = 4096;

type NotificationFields = Omit<NotificationRecord, 'seq' | 'receivedAt' | 'raw' | 'rawBytes' | 'rawSha256'>;

/**
 * Store the outcome of one HandleNotification (inside tx): accepted ones with their bytes
 * (up to MAX_STORED_NOTIFICATION), rejected ones without them and counted by reason in the
 * meta record; the oldest give way beyond the retention cap.
 */
function storeNotification(core: SmdpCore, raw: Uint8Array, fields: NotificationFields): NotificationRecord {
  makeRoomForNotification(core.db, core.options.retention);
  const keepBytes = fields.accepted && raw.byteLength <= MAX_STORED_NOTIFICATION;
  const r: NotificationRecord = {
    ...fields,
    ...(fields.detail !== undefined ? { detail: safeText(fields.detail, 300) } : {}),
    seq: core.db.takeNotificationSeq(),
    receivedAt: core.now(),
    rawBytes: raw.byteLength,
    rawSha256: toHex(sha256(raw)),
    ...(keepBytes ? { raw: bytesToBase64(raw) } : {}),
  };
  core.db.notifications.put(notificationKey(r.seq), r);
  const rejection = r.rejection;
  if (rejection !== undefined) core.db.updateMeta((m) => ({ ...m, rejectedNotifications: { ...m.rejectedNotifications, [rejection]: (m.rejectedNotifications?.[rejection] ?? 0) + 1 } }));
  return r;
}

/** Process one pending notification; the HTTP answer is always 204, the outcome is recorded. */
export function handleNotification(core: SmdpCore, body: unknown): NotificationRecord {
  const req = parseHandleNotificationRequest(body);
  const raw = base64ToBytes(req.pendingNotification, 'pendingNotification');
  const pn = decodeField('pendingNotification', req.pendingNotification, PendingNotification);

  if ('profileInstallationResult' in pn) {
    const pir = pn.profileInstallationResult;
    const data = pir.profileInstallationResultData;
    const txid = toUpperHex(data.transactionId);
    const iccid = data.notificationMetadata.iccid ? iccidFromBytes(data.notificationMetadata.iccid) : undefined;
    const result: 'success' | 'error' = 'successResult' in data.finalResult ? 'success' : 'error';
    const rec = core.db.tx((): NotificationRecord => {
      const record = (extra: Partial<NotificationFields>): NotificationRecord =>
        storeNotification(core, raw, {
          kind: 'profileInstallationResult',
          accepted: false,
          operations: operationsOf(data.notificationMetadata.profileManagementOperation),
          transactionId: txid,
          result,
          ...(iccid !== undefined ? { iccid } : {}),
          ...('errorResult' in data.finalResult ? { bppCommandId: data.finalResult.errorResult.bppCommandId, errorReason: data.finalResult.errorResult.errorReason } : {}),
          ...extra,
        });
      const session = liveSession(core, txid);
      if (!session || session.kind !== 'es9') return record({ rejection: 'unknownTransaction', detail: `no session ${txid}` });
      const eid = session.eid ? { eid: session.eid } : {};
      if (!sessionAllows(session, 'handleNotification')) return record({ rejection: 'wrongState', detail: `session ${txid} is ${session.state}`, ...eid });
      if (!verifyWithSessionCert(session, derOf(ProfileInstallationResultData, data), pir.euiccSignPIR)) return record({ rejection: 'badSignature', detail: 'euiccSignPIR does not verify', ...eid });
      if (iccid !== undefined && session.iccid !== undefined && iccid !== session.iccid)
        return record({ rejection: 'iccidMismatch', detail: `PIR for ${iccid}, session downloaded ${session.iccid}`, ...eid });
      // the result belongs to this session; whether it may change the profile depends on
      // whether the session's order still holds it (not after a cancel or a new order)
      if (session.bppKey) core.db.blobs.remove(session.bppKey);
      const { bppKey: _done, ...rest } = session;
      void _done;
      core.db.sessions.put(txid, { ...rest, state: 'completed', updatedAt: core.now() });
      const held = core.heldOrder(session);
      if (!held) return record({ rejection: 'notOrderOwner', detail: `the order of session ${txid} no longer holds profile ${session.iccid ?? '?'}`, ...eid });
      const { order, profile } = held;
      if (profile.state === 'Downloaded') core.transitionProfile(profile, result === 'success' ? 'installSuccess' : 'installFailure');
      core.closeOrder(order, profile, false);
      const r = record({ accepted: true, ...eid });
      progressFor(
        core,
        profile,
        session.eid,
        'bppInstallation',
        result === 'success' ? { status: 'Executed-Success' } : failedStatus(SMDP_STATUS.EuiccReturnedError, `installation failed: bppCommandId ${r.bppCommandId}, errorReason ${r.errorReason}`),
        bytesToBase64(raw),
      );
      return r;
    });
    core.log(rec.accepted ? 'info' : 'warn', `PIR ${rec.accepted ? 'accepted' : `rejected (${rec.rejection})`} for transaction ${txid}: ${result}`);
    return rec;
  }

  const o = pn.otherSignedNotification;
  const iccid = o.tbsOtherNotification.iccid ? iccidFromBytes(o.tbsOtherNotification.iccid) : undefined;
  const chain = verifyChain(o.euiccCertificate, [o.eumCertificate], { trustedCis: core.credentials.trustedCis, at: new Date(core.now()), expectedRole: 'euicc' });
  let rejection: NotificationRecord['rejection'];
  let detail: string | undefined;
  let eid: string | undefined;
  if (!chain.ok) {
    rejection = 'badCertificate';
    detail = `${chain.reason}: ${chain.detail}`;
  } else {
    const cert = parseCert(o.euiccCertificate);
    eid = cert.eid;
    if (!verify(cert.curve, cert.publicKey, derOf(NotificationMetadata, o.tbsOtherNotification), o.euiccNotificationSignature)) {
      rejection = 'badSignature';
      detail = 'euiccNotificationSignature does not verify';
    }
  }
  const rec = core.db.tx((): NotificationRecord => {
    const profile = iccid !== undefined ? core.db.profiles.get(iccid) : undefined;
    if (rejection === undefined && !profile) {
      rejection = 'unknownProfile';
      detail = `ICCID ${iccid ?? '(none)'} is not in this inventory`;
    }
    const r = storeNotification(core, raw, {
      kind: 'otherSignedNotification',
      accepted: rejection === undefined,
      operations: operationsOf(o.tbsOtherNotification.profileManagementOperation),
      ...(iccid !== undefined ? { iccid } : {}),
      ...(eid !== undefined ? { eid } : {}),
      ...(rejection !== undefined ? { rejection } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
    if (r.accepted && profile) progressFor(core, profile, eid, 'otherNotification', { status: 'Executed-Success' }, bytesToBase64(raw));
    return r;
  });
  core.log(rec.accepted ? 'info' : 'warn', `notification ${rec.operations.join('+')} for ${iccid ?? '?'} ${rec.accepted ? 'accepted' : `rejected (${rec.rejection})`}`);
  return rec;
}

// ---------------------------------------------------------------------------
// CancelSession (5.6.5)

/** Reasons after which the order is terminated (profile -> Error); the others leave it downloadable. */
const FINAL_CANCEL_REASONS: readonly number[] = [CancelSessionReason.endUserRejection, CancelSessionReason.pprNotAllowed, CancelSessionReason.metadataMismatch];

/**
 * CancelSession (5.6.5). A session bound to an eUICC (after AuthenticateClient) ends only
 * with that eUICC's signed cancelSessionResponseOk (euiccCancelSessionSignature verified with
 * the session's PK.EUICC, its transactionId and this SM-DP+'s OID). Before AuthenticateClient
 * there is no eUICC key to verify with and no order attached: only the client that opened the
 * session (same network address) may end it. Anything else is refused and changes nothing, so
 * a request carrying only a victim's transactionId cannot cancel the victim's download.
 */
export function cancelSession(core: SmdpCore, body: unknown, ctx: { clientAddress: string }): void {
  const req = parseCancelSessionRequest(body);
  const session = sessionFor(core, req.transactionId, 'cancelSession');
  const csr = decodeField('cancelSessionResponse', req.cancelSessionResponse, CancelSessionResponse);
  let reason: number = CancelSessionReason.undefinedReason;
  if (session.euiccCertificate !== undefined) {
    if (!('cancelSessionResponseOk' in csr))
      throw new RspFunctionError(Status.EuiccSignatureInvalid, `session ${session.transactionId} is bound to an eUICC: only its signed cancelSessionResponse ends it (got cancelSessionResponseError ${csr.cancelSessionResponseError})`);
    const ok = csr.cancelSessionResponseOk;
    const signed = ok.euiccCancelSessionSigned;
    if (!verifyWithSessionCert(session, derOf(EuiccCancelSessionSigned, signed), ok.euiccCancelSessionSignature)) throw new RspFunctionError(Status.EuiccSignatureInvalid, 'euiccCancelSessionSignature does not verify');
    if (toUpperHex(signed.transactionId) !== session.transactionId) throw new RspFunctionError(Status.UnknownTransactionId, "euiccCancelSessionSigned.transactionId is not the session's");
    if (signed.smdpOid !== core.credentials.smdpOid) throw new RspFunctionError(Status.InvalidSmdpOid, `smdpOid ${signed.smdpOid} is not ${core.credentials.smdpOid}`);
    reason = signed.reason;
  } else if (session.clientAddress === undefined || session.clientAddress !== ctx.clientAddress)
    throw new RspFunctionError(Status.EuiccSignatureInvalid, `session ${session.transactionId} has no eUICC yet: only the client that opened it may cancel it`);
  else if ('cancelSessionResponseOk' in csr) reason = csr.cancelSessionResponseOk.euiccCancelSessionSigned.reason;
  const final = session.euiccCertificate !== undefined && FINAL_CANCEL_REASONS.includes(reason);
  core.db.tx(() => {
    const s = core.db.sessions.get(session.transactionId)!;
    core.db.sessions.put(s.transactionId, { ...s, state: 'cancelled', cancelReason: reason, updatedAt: core.now() });
    const held = core.heldOrder(s);
    if (!held) return;
    const { order, profile } = held;
    progressFor(core, profile, s.eid, 'sessionCancelled', failedStatus(SMDP_STATUS.EuiccReturnedError, `session cancelled: ${CancelSessionReason.describe(reason)}`));
    if (final && (profile.state === 'Released' || profile.state === 'Downloaded')) {
      const p = core.transitionProfile(profile, 'sessionAborted');
      core.closeOrder(order, p, false);
    }
  });
  core.log('info', `session ${session.transactionId} cancelled (${CancelSessionReason.describe(reason)})`);
}
