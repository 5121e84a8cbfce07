// ES10c functions of the ISD-R (SGP.22 5.7.15-5.7.21): GetProfilesInfo with
// searchCriteria and tagList, EnableProfile, DisableProfile, DeleteProfile,
// eUICCMemoryReset, GetEID and SetNickname, with the Profile Policy Rules of 2.9
// (PPR1: disabling not allowed, PPR2: deletion not allowed) and the notifications of
// 3.5 (notifications.ts). Every change is persisted before the answer is returned.

// Choices where SGP.22 leaves room (documented):
// - GetProfilesInfo without tagList returns every field the profile has (icon too);
//   with a tagList only the listed fields, unknown tags ignored; a tagList that is not
//   a sequence of tags -> profileInfoListError incorrectInputValues (1). A search that
//   matches nothing -> an empty list.
// - Enable/Disable check order: iccidOrAidNotFound 1 -> profileNotIn...State 2 ->
//   disallowedByPolicy 3 -> catBusy 5 (the fault switch, or a proactive session of the
//   card still open: a REFRESH fetched but not answered, ETSI TS 102 223 6.3), whatever
//   refreshFlag says.
//   EnableProfile refuses (3) when the currently enabled profile has PPR1, since
//   enabling another profile would disable it. wrongProfileReenabling (4) is not produced.
// - Enabling disables the enabled profile first: its disable notifications get the
//   lower sequence numbers, then the enable notifications of the target.
// - refreshFlag true: a 'refresh' event (mode eUICC Profile State Change) is emitted; the
//   card layer raises the REFRESH proactive command (91xx, FETCH) and/or refuses ES10
//   until reset when its profileChange options say so (card/card.ts). The file system
//   the card shows follows the enabled profile at once in both cases.
// - eUICCMemoryReset generates no notifications (SGP.22 5.7.19) and keeps pending
//   ones; deleteOperationalProfiles / deleteFieldLoadedTestProfiles delete enabled
//   profiles too, whatever their PPRs; nothingToDelete (1) when no profile matched and
//   resetDefaultSmdpAddress was not asked; catBusy (5) from the fault switch.
// - GetEID with a tagList other than '5A' -> SW 6A88.
// - SetNickname with an empty nickname removes it.
import { SW, StatusWordError } from '../apdu/sw.ts';
import { decode, encode, implicit } from '../rsp/der.ts';
import { VendorSpecificExtension, type ProfileInfo } from '../rsp/common.ts';
import {
  DeleteProfileRequest,
  DeleteProfileResponse,
  DisableProfileRequest,
  DisableProfileResponse,
  EnableProfileRequest,
  EnableProfileResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  GetEuiccDataRequest,
  GetEuiccDataResponse,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  SetNicknameRequest,
  SetNicknameResponse,
} from '../rsp/es10c.ts';
import { iccidFromBytes, iccidToBytes, IccidError } from '../rsp/iccid.ts';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { decodeRequest, type Es10Env, type EuiccContext } from './context.ts';
import { leadingTag } from './functions.ts';
import { addProfileNotifications, emitNotificationEvents, FLAG_OF_KIND } from './notifications.ts';
import { PROFILE_CLASS_VALUES, type StoredNotification, type StoredProfile } from './state.ts';

// ---------------------------------------------------------------------------
// GetProfilesInfo (5.7.15)

type ProfileInfoField = keyof ProfileInfo;

/** ProfileInfo fields by the tag a tagList names them with. */
export const PROFILE_INFO_TAGS: ReadonlyMap<number, ProfileInfoField> = new Map<number, ProfileInfoField>([
  [0x5a, 'iccid'],
  [0x4f, 'isdpAid'],
  [0x9f70, 'profileState'],
  [0x90, 'profileNickname'],
  [0x91, 'serviceProviderName'],
  [0x92, 'profileName'],
  [0x93, 'iconType'],
  [0x94, 'icon'],
  [0x95, 'profileClass'],
  [0xb6, 'notificationConfigurationInfo'],
  [0xb7, 'profileOwner'],
  [0xb8, 'dpProprietaryData'],
  [0x99, 'profilePolicyRules'],
  [0xbf22, 'serviceSpecificDataStoredInEuicc'],
]);

const ServiceSpecificData = implicit(0xbf22, VendorSpecificExtension);

/** Every ProfileInfo field a stored profile has. */
export function profileInfo(p: StoredProfile): ProfileInfo {
  return {
    iccid: iccidToBytes(p.iccid),
    isdpAid: hexToBytes(p.isdpAid),
    profileState: p.enabled ? 1 : 0,
    ...(p.nickname !== undefined ? { profileNickname: p.nickname } : {}),
    serviceProviderName: p.serviceProviderName,
    profileName: p.profileName,
    ...(p.iconType !== undefined ? { iconType: p.iconType } : {}),
    ...(p.icon !== undefined ? { icon: hexToBytes(p.icon) } : {}),
    profileClass: PROFILE_CLASS_VALUES[p.profileClass],
    ...(p.notificationConfiguration.length
      ? { notificationConfigurationInfo: p.notificationConfiguration.map((c) => ({ profileManagementOperation: c.events.map((k) => FLAG_OF_KIND[k]), notificationAddress: c.address })) }
      : {}),
    ...(p.profileOwner
      ? { profileOwner: { mccMnc: hexToBytes(p.profileOwner.mccMnc), ...(p.profileOwner.gid1 ? { gid1: hexToBytes(p.profileOwner.gid1) } : {}), ...(p.profileOwner.gid2 ? { gid2: hexToBytes(p.profileOwner.gid2) } : {}) } }
      : {}),
    ...(p.dpOid !== undefined ? { dpProprietaryData: { dpOid: p.dpOid } } : {}),
    ...(p.policyRules.length ? { profilePolicyRules: [...p.policyRules] } : {}),
    ...(p.serviceSpecificData !== undefined ? { serviceSpecificDataStoredInEuicc: decode(ServiceSpecificData, hexToBytes(p.serviceSpecificData)) } : {}),
  };
}

/** The tags of a tagList ('5C' value: concatenated identifier octets); undefined when malformed. */
export function parseTagList(list: Uint8Array): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  while (i < list.length) {
    const tag = leadingTag(list.subarray(i));
    if (tag === undefined) return undefined;
    out.push(tag);
    i += tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
  }
  return out;
}

function pick(info: ProfileInfo, fields: ReadonlySet<ProfileInfoField>): ProfileInfo {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) if (fields.has(k as ProfileInfoField)) out[k] = v;
  return out as ProfileInfo;
}

export function getProfilesInfo(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(ProfileInfoListRequest, command);
  let fields: Set<ProfileInfoField> | undefined;
  if (req.tagList !== undefined) {
    const tags = parseTagList(req.tagList);
    if (!tags) return encode(ProfileInfoListResponse, { profileInfoListError: 1 });
    fields = new Set(tags.flatMap((t) => (PROFILE_INFO_TAGS.has(t) ? [PROFILE_INFO_TAGS.get(t)!] : [])));
  }
  let profiles = env.ctx.state.profiles;
  const sc = req.searchCriteria;
  if (sc && 'isdpAid' in sc) profiles = profiles.filter((p) => p.isdpAid === toUpperHex(sc.isdpAid));
  else if (sc && 'iccid' in sc) {
    const iccid = iccidOf(sc.iccid);
    profiles = profiles.filter((p) => p.iccid === iccid);
  } else if (sc && 'profileClass' in sc) profiles = profiles.filter((p) => PROFILE_CLASS_VALUES[p.profileClass] === sc.profileClass);
  const list = profiles.map((p) => (fields ? pick(profileInfo(p), fields) : profileInfo(p)));
  return encode(ProfileInfoListResponse, { profileInfoListOk: list });
}

// ---------------------------------------------------------------------------
// Enable / Disable / Delete (5.7.16-5.7.18)

/** ICCID digits of an Iccid value; undefined when it is not a valid coding (so it matches nothing). */
function iccidOf(bytes: Uint8Array): string | undefined {
  try {
    return iccidFromBytes(bytes);
  } catch (e) {
    if (e instanceof IccidError) return undefined;
    throw e;
  }
}

function findProfile(ctx: EuiccContext, id: { isdpAid: Uint8Array } | { iccid: Uint8Array }): StoredProfile | undefined {
  if ('isdpAid' in id) return ctx.findByAid(toUpperHex(id.isdpAid));
  const iccid = iccidOf(id.iccid);
  return iccid === undefined ? undefined : ctx.findByIccid(iccid);
}

function commit(ctx: EuiccContext, notifications: readonly StoredNotification[], after: () => void): void {
  ctx.save();
  after();
  emitNotificationEvents(ctx, notifications);
}

/** What Enable/Disable learn of the card: is a proactive session (e.g. an unanswered REFRESH) still open? */
export type ProfileSwitchEnv = Es10Env & { readonly proactiveSessionPending?: () => boolean };

function catBusy(env: ProfileSwitchEnv): boolean {
  return env.ctx.faults.catBusy || (env.proactiveSessionPending?.() ?? false);
}

export function enableProfile(env: ProfileSwitchEnv, command: Uint8Array): Uint8Array {
  const { ctx } = env;
  const req = decodeRequest(EnableProfileRequest, command);
  const result = (enableResult: number) => encode(EnableProfileResponse, { enableResult });
  const target = findProfile(ctx, req.profileIdentifier);
  if (!target) return result(1);
  if (target.enabled) return result(2);
  const current = ctx.enabledProfile();
  if (current?.policyRules.includes('ppr1')) return result(3);
  if (catBusy(env)) return result(5);
  const notes: StoredNotification[] = [];
  if (current) {
    current.enabled = false;
    notes.push(...addProfileNotifications(ctx, current, 'disable'));
  }
  target.enabled = true;
  notes.push(...addProfileNotifications(ctx, target, 'enable'));
  commit(ctx, notes, () => {
    if (current) ctx.events.emit('profile', { change: 'disabled', iccid: current.iccid, isdpAid: current.isdpAid, cause: 'es10c' });
    ctx.events.emit('profile', { change: 'enabled', iccid: target.iccid, isdpAid: target.isdpAid, cause: 'es10c' });
    if (req.refreshFlag) ctx.events.emit('refresh', { mode: 'euiccProfileStateChange', operation: 'enable', iccid: target.iccid });
  });
  return result(0);
}

export function disableProfile(env: ProfileSwitchEnv, command: Uint8Array): Uint8Array {
  const { ctx } = env;
  const req = decodeRequest(DisableProfileRequest, command);
  const result = (disableResult: number) => encode(DisableProfileResponse, { disableResult });
  const target = findProfile(ctx, req.profileIdentifier);
  if (!target) return result(1);
  if (!target.enabled) return result(2);
  if (target.policyRules.includes('ppr1')) return result(3);
  if (catBusy(env)) return result(5);
  target.enabled = false;
  const notes = addProfileNotifications(ctx, target, 'disable');
  commit(ctx, notes, () => {
    ctx.events.emit('profile', { change: 'disabled', iccid: target.iccid, isdpAid: target.isdpAid, cause: 'es10c' });
    if (req.refreshFlag) ctx.events.emit('refresh', { mode: 'euiccProfileStateChange', operation: 'disable', iccid: target.iccid });
  });
  return result(0);
}

export function deleteProfile(env: Es10Env, command: Uint8Array): Uint8Array {
  const { ctx } = env;
  const req = decodeRequest(DeleteProfileRequest, command);
  const result = (deleteResult: number) => encode(DeleteProfileResponse, { deleteResult });
  const target = findProfile(ctx, req);
  if (!target) return result(1);
  if (target.enabled) return result(2);
  if (target.policyRules.includes('ppr2')) return result(3);
  const notes = addProfileNotifications(ctx, target, 'delete');
  ctx.state.profiles = ctx.state.profiles.filter((p) => p !== target);
  commit(ctx, notes, () => ctx.events.emit('profile', { change: 'deleted', iccid: target.iccid, isdpAid: target.isdpAid, cause: 'es10c' }));
  return result(0);
}

// ---------------------------------------------------------------------------
// eUICCMemoryReset (5.7.19)

export function euiccMemoryReset(env: Es10Env, command: Uint8Array): Uint8Array {
  const { ctx } = env;
  const req = decodeRequest(EuiccMemoryResetRequest, command);
  const result = (resetResult: number) => encode(EuiccMemoryResetResponse, { resetResult });
  const opts = req.resetOptions;
  if (ctx.faults.catBusy) return result(5);
  const gone = ctx.state.profiles.filter(
    (p) => (opts.includes('deleteOperationalProfiles') && p.profileClass === 'operational') || (opts.includes('deleteFieldLoadedTestProfiles') && p.profileClass === 'test'),
  );
  const resetAddress = opts.includes('resetDefaultSmdpAddress');
  if (gone.length === 0 && !resetAddress) return result(1);
  ctx.state.profiles = ctx.state.profiles.filter((p) => !gone.includes(p));
  if (resetAddress) {
    if (ctx.options.defaultDpAddress) ctx.state.defaultDpAddress = ctx.options.defaultDpAddress;
    else delete ctx.state.defaultDpAddress;
  }
  const enabledGone = gone.find((p) => p.enabled);
  commit(ctx, [], () => {
    for (const p of gone) ctx.events.emit('profile', { change: 'deleted', iccid: p.iccid, isdpAid: p.isdpAid, cause: 'memoryReset' });
    if (enabledGone) ctx.events.emit('refresh', { mode: 'euiccProfileStateChange', operation: 'memoryReset', iccid: enabledGone.iccid });
  });
  return result(0);
}

// ---------------------------------------------------------------------------
// GetEID (5.7.20), SetNickname (5.7.21)

export function getEid(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(GetEuiccDataRequest, command);
  if (req.tagList[0] !== 0x5a) throw new StatusWordError(SW.REFERENCED_DATA_NOT_FOUND, `GetEuiccData tagList ${toUpperHex(req.tagList)}: only 5A (EID) exists`);
  return encode(GetEuiccDataResponse, { eidValue: env.ctx.eidBytes });
}

export function setNickname(env: Es10Env, command: Uint8Array): Uint8Array {
  const { ctx } = env;
  const req = decodeRequest(SetNicknameRequest, command);
  const iccid = iccidOf(req.iccid);
  const target = iccid === undefined ? undefined : ctx.findByIccid(iccid);
  if (!target) return encode(SetNicknameResponse, { setNicknameResult: 1 });
  if (req.profileNickname === '') delete target.nickname;
  else target.nickname = req.profileNickname;
  commit(ctx, [], () => ctx.events.emit('profile', { change: 'nickname', iccid: target.iccid, isdpAid: target.isdpAid, cause: 'es10c' }));
  return encode(SetNicknameResponse, { setNicknameResult: 0 });
}
