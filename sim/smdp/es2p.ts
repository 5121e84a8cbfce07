// ES2+ (operator -> SM-DP+, SGP.22 5.3): DownloadOrder (5.3.1), ConfirmOrder (5.3.2, MatchingID
// generated as XXXXX-XXXXX-XXXXX-XXXXX or taken from the operator, confirmation code stored as a
// digest, SM-DS event registration for EID-bound orders), CancelOrder (5.3.3) and
// ReleaseProfile (5.3.4), driving the inventory states of 3.1.6. The same functions serve the
// HTTPS endpoints and the in-process helpers; errors are RspFunctionError with ES2+ codes.
// Over HTTPS the caller is the client certificate's name (es2-auth.ts): the request's
// functionRequesterIdentifier must be that name, and an order placed by one requester is
// confirmed, released or cancelled only by the same one. In-process calls have no caller.
import { randomUUID } from 'node:crypto';
import { isValidEid } from '../rsp/eid.ts';
import { Status, type CancelOrderRequestJson, type ConfirmOrderOkJson, type ConfirmOrderRequestJson, type DownloadOrderOkJson, type DownloadOrderRequestJson, type ReleaseProfileRequestJson } from '../rsp/json.ts';
import { CryptoError } from '../crypto/errors.ts';
import { RspFunctionError, SMDP_STATUS } from './errors.ts';
import { generateMatchingId, type SmdpCore } from './core.ts';
import type { OrderRecord, ProfileRecord } from './db.ts';
import { IllegalTransitionError, type ProfileEvent } from './inventory-state.ts';
import { confirmationCodeDigest } from './es9p.ts';

type WithoutHeader<T> = Omit<T, 'header'> & { header?: { functionRequesterIdentifier: string; functionCallIdentifier: string } };
export type DownloadOrderInput = WithoutHeader<DownloadOrderRequestJson>;
export type ConfirmOrderInput = WithoutHeader<ConfirmOrderRequestJson>;
export type CancelOrderInput = WithoutHeader<CancelOrderRequestJson>;
export type ReleaseProfileInput = WithoutHeader<ReleaseProfileRequestJson>;

/** ICCID as the operator wrote it (19-20 digits, maybe F-padded) to inventory key form. */
function normaliseIccid(iccid: string): string {
  return iccid.replace(/[Ff]$/, '');
}

function checkEid(eid: string | undefined): void {
  if (eid !== undefined && !isValidEid(eid)) throw new RspFunctionError(SMDP_STATUS.EidInvalid, `EID ${eid} is not 32 digits with valid check digits`);
}

function profileByIccid(core: SmdpCore, iccid: string): ProfileRecord {
  const p = core.db.profiles.get(normaliseIccid(iccid));
  if (!p) throw new RspFunctionError(Status.IccidUnknown, `ICCID ${iccid} is not in the inventory`);
  return p;
}

/** An ES2+ client authenticated by its certificate: the name it may act under. */
export interface Es2Caller {
  requester: string;
}

/** The request names its caller: functionRequesterIdentifier = the certificate's name. */
function checkRequester(req: { header?: { functionRequesterIdentifier: string } }, caller: Es2Caller | undefined): void {
  if (caller === undefined) return;
  const claimed = req.header?.functionRequesterIdentifier;
  if (claimed !== caller.requester)
    throw new RspFunctionError(SMDP_STATUS.NotAllowed, `functionRequesterIdentifier '${claimed ?? ''}' is not '${caller.requester}', the name of the client certificate`, 403);
}

/** Only the requester that placed an order changes it (in-process orders: any authenticated caller). */
function checkOwner(order: OrderRecord, caller: Es2Caller | undefined, fn: string): void {
  if (caller === undefined || order.functionRequesterIdentifier === undefined || order.functionRequesterIdentifier === caller.requester) return;
  throw new RspFunctionError(SMDP_STATUS.IccidNotAllowed, `${fn}: the order of profile ${order.iccid} belongs to another function requester`);
}

function openOrderOf(core: SmdpCore, profile: ProfileRecord, fn: string, caller: Es2Caller | undefined): OrderRecord {
  const order = core.orderOfProfile(profile);
  if (!order || order.closed) throw new RspFunctionError(SMDP_STATUS.InvalidTransition, `${fn}: profile ${profile.iccid} has no pending order (state ${profile.state})`);
  checkOwner(order, caller, fn);
  return order;
}

function es2Transition(core: SmdpCore, profile: ProfileRecord, event: ProfileEvent): ProfileRecord {
  try {
    return core.transitionProfile(profile, event);
  } catch (e) {
    if (e instanceof IllegalTransitionError) throw new RspFunctionError(SMDP_STATUS.InvalidTransition, e.message);
    throw e;
  }
}

export function downloadOrder(core: SmdpCore, req: DownloadOrderInput, caller?: Es2Caller): DownloadOrderOkJson {
  checkRequester(req, caller);
  checkEid(req.eid);
  return core.db.tx(() => {
    let profile: ProfileRecord | undefined;
    if (req.iccid !== undefined) {
      profile = profileByIccid(core, req.iccid);
      if (profile.state !== 'Available') throw new RspFunctionError(SMDP_STATUS.IccidInUse, `profile ${profile.iccid} is ${profile.state}`);
      if (req.profileType !== undefined && profile.profileType !== req.profileType)
        throw new RspFunctionError(Status.NoEligibleProfile, `profile ${profile.iccid} is of type ${profile.profileType}, not ${req.profileType}`);
    } else {
      profile = core.db.profiles.values().find((p) => p.state === 'Available' && (req.profileType === undefined || p.profileType === req.profileType));
      if (!profile) throw new RspFunctionError(Status.NoEligibleProfile, `no Available profile${req.profileType !== undefined ? ` of type ${req.profileType}` : ''}`);
    }
    const now = core.now();
    const order: OrderRecord = {
      orderId: randomUUID(),
      iccid: profile.iccid,
      createdAt: now,
      expiresAt: now + core.options.orderTtlMs,
      ccAttempts: 0,
      downloadAttempts: 0,
      closed: false,
      ...(req.eid !== undefined ? { eid: req.eid } : {}),
      ...(req.header ? { functionRequesterIdentifier: req.header.functionRequesterIdentifier } : {}),
    };
    core.putOrder(order);
    const next = es2Transition(core, profile, req.eid !== undefined ? 'downloadOrderWithEid' : 'downloadOrder');
    core.db.profiles.put(next.iccid, { ...next, orderId: order.orderId });
    return { iccid: profile.iccid };
  });
}

const MATCHING_ID_RE = /^[\x21-\x23\x25-\x7e]{1,255}$/;

export function confirmOrder(core: SmdpCore, req: ConfirmOrderInput, caller?: Es2Caller): ConfirmOrderOkJson {
  checkRequester(req, caller);
  checkEid(req.eid);
  if (req.matchingId !== undefined && req.matchingId !== '' && !MATCHING_ID_RE.test(req.matchingId))
    throw new RspFunctionError(SMDP_STATUS.InvalidRequest, 'matchingId must be 1..255 printable ASCII characters without "$"', 400);
  let ccHash: string | undefined;
  if (req.confirmationCode !== undefined) {
    try {
      ccHash = confirmationCodeDigest(req.confirmationCode, core.options.ccEncoding);
    } catch (e) {
      if (e instanceof CryptoError) throw new RspFunctionError(SMDP_STATUS.InvalidRequest, `confirmationCode: ${e.message}`, 400);
      throw e;
    }
  }
  return core.db.tx(() => {
    const profile = profileByIccid(core, req.iccid);
    const order = openOrderOf(core, profile, 'confirmOrder', caller);
    if (profile.state !== 'Allocated' && profile.state !== 'Linked')
      throw new RspFunctionError(SMDP_STATUS.InvalidTransition, `confirmOrder: profile ${profile.iccid} is ${profile.state}`);
    if (req.eid !== undefined && order.eid !== undefined && req.eid !== order.eid) throw new RspFunctionError(Status.EidRefused, `the order is for EID ${order.eid}`);
    let matchingId = req.matchingId;
    if (matchingId !== undefined && matchingId !== '') {
      const other = core.orderByMatchingId(matchingId);
      if (other && other.orderId !== order.orderId && !other.closed) throw new RspFunctionError(SMDP_STATUS.MatchingIdInUse, `MatchingID ${matchingId} is used by another order`);
    } else {
      do matchingId = generateMatchingId();
      while (core.db.matchingIds.get(matchingId) !== undefined);
    }
    let next: OrderRecord = {
      ...order,
      matchingId,
      ...(req.eid !== undefined ? { eid: req.eid } : {}),
      ...(ccHash !== undefined ? { ccHash } : {}),
      ...(req.smdsAddress !== undefined ? { smdsAddress: req.smdsAddress } : {}),
    };
    es2Transition(core, profile, req.releaseFlag ? 'confirmOrderAndRelease' : 'confirmOrder');
    if (req.releaseFlag) next = core.registerEvent(next);
    core.db.matchingIds.put(matchingId, order.orderId);
    core.putOrder(next);
    const out: ConfirmOrderOkJson = { matchingId, smdpAddress: core.address };
    if (next.eid !== undefined) out.eid = next.eid;
    return out;
  });
}

export function cancelOrder(core: SmdpCore, req: CancelOrderInput, caller?: Es2Caller): void {
  checkRequester(req, caller);
  checkEid(req.eid);
  core.db.tx(() => {
    const profile = profileByIccid(core, req.iccid);
    const order = core.orderOfProfile(profile);
    if (!order) throw new RspFunctionError(SMDP_STATUS.InvalidTransition, `cancelOrder: profile ${profile.iccid} has no order (state ${profile.state})`);
    checkOwner(order, caller, 'cancelOrder');
    if (req.eid !== undefined && order.eid !== undefined && req.eid !== order.eid) throw new RspFunctionError(Status.EidRefused, `the order is for EID ${order.eid}`);
    if (req.matchingId !== undefined && req.matchingId !== order.matchingId) throw new RspFunctionError(Status.MatchingIdRefused, `the order's MatchingID is not ${req.matchingId}`);
    const p = es2Transition(core, profile, req.finalProfileStatusIndicator === 'Available' ? 'cancelOrderAvailable' : 'cancelOrderUnavailable');
    core.closeOrder(order, p, true);
  });
}

export function releaseProfile(core: SmdpCore, req: ReleaseProfileInput, caller?: Es2Caller): void {
  checkRequester(req, caller);
  core.db.tx(() => {
    const profile = profileByIccid(core, req.iccid);
    const order = openOrderOf(core, profile, 'releaseProfile', caller);
    es2Transition(core, profile, 'releaseProfile');
    core.putOrder(core.registerEvent(order));
  });
}
