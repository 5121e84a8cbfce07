// lpac-compatible JSON views of what the LPA flows return (the `data` of lpac's
// {"type":"lpa","payload":{...}} line): chip info (EID, EuiccConfiguredAddresses,
// EUICCInfo2 of SGP.22 4.3 with versions as "x.y.z", RAT of 2.9.2.2), profile list
// (ProfileInfo of 5.7.15 with state/class names, ICCID digits), notification list
// (NotificationMetadata of 5.7.9). Field names follow lpac where it has them.
import { toHex } from '../bytes.ts';
import type { EUICCInfo2, NotificationMetadata, OperatorId, ProfileInfo, RulesAuthorisationTable } from '../rsp/common.ts';
import { bytesToBase64 } from '../rsp/json.ts';
import { iccidFromBytes } from '../rsp/iccid.ts';
import type { JsonValue } from '../rsp/registry.ts';
import { EuiccCategories, IconTypes, ProfileClasses, ProfileStates } from '../rsp/results.ts';
import type { ChipInfo, DownloadResult, NotificationDelivery } from './flows.ts';

type Json = { [key: string]: JsonValue };

/** 3-byte VersionType -> "2.2.0" */
export function versionString(v: Uint8Array | undefined): string | null {
  return v === undefined ? null : Array.from(v).join('.');
}

/** extCardResource (SGP.22 4.3: 81 installed applications, 82 free NVM, 83 free volatile memory; GP TLVs). */
export function extCardResourceJson(bytes: Uint8Array): Json {
  const out: Json = {};
  let p = 0;
  while (p + 2 <= bytes.length) {
    const tag = bytes[p]!;
    const len = bytes[p + 1]!;
    const value = bytes.subarray(p + 2, p + 2 + len);
    if (value.length !== len) break;
    const n = value.reduce((a, b) => a * 256 + b, 0);
    if (tag === 0x81) out['installedApplication'] = n;
    else if (tag === 0x82) out['freeNonVolatileMemory'] = n;
    else if (tag === 0x83) out['freeVolatileMemory'] = n;
    p += 2 + len;
  }
  return out;
}

function operatorJson(o: OperatorId): Json {
  // mccMnc is the 3-byte PLMN of 3GPP 24.008 (MCC2|MCC1, MNC3|MCC3, MNC2|MNC1); F = no
  // third MNC digit, E = wildcard digit (RAT), printed as is
  const d = Array.from(o.mccMnc).flatMap((b) => [b & 0x0f, b >> 4]).map((x) => x.toString(16).toUpperCase());
  const plmn = `${d[0]}${d[1]}${d[2]}${d[4]}${d[5]}${d[3] === 'F' ? '' : d[3]}`;
  return { plmn, gid1: o.gid1 ? toHex(o.gid1) : null, gid2: o.gid2 ? toHex(o.gid2) : null };
}

export function euiccInfo2Json(i: EUICCInfo2): Json {
  return {
    profileVersion: versionString(i.profileVersion),
    svn: versionString(i.svn),
    euiccFirmwareVer: versionString(i.euiccFirmwareVer),
    extCardResource: extCardResourceJson(i.extCardResource),
    uiccCapability: i.uiccCapability,
    ts102241Version: versionString(i.ts102241Version),
    globalplatformVersion: versionString(i.globalplatformVersion),
    rspCapability: i.rspCapability,
    euiccCiPKIdListForVerification: i.euiccCiPKIdListForVerification.map(toHex),
    euiccCiPKIdListForSigning: i.euiccCiPKIdListForSigning.map(toHex),
    euiccCategory: i.euiccCategory === undefined ? null : EuiccCategories.describe(i.euiccCategory),
    forbiddenProfilePolicyRules: i.forbiddenProfilePolicyRules ?? null,
    ppVersion: versionString(i.ppVersion),
    sasAcreditationNumber: i.sasAcreditationNumber,
    certificationDataObject: i.certificationDataObject
      ? { platformLabel: i.certificationDataObject.platformLabel, discoveryBaseURL: i.certificationDataObject.discoveryBaseURL }
      : null,
  };
}

export function ratJson(rat: RulesAuthorisationTable): JsonValue {
  return rat.map((r) => ({ pprIds: r.pprIds, allowedOperators: r.allowedOperators.map(operatorJson), pprFlags: r.pprFlags }));
}

export function chipInfoJson(c: ChipInfo): Json {
  return {
    eidValue: c.eid,
    EuiccConfiguredAddresses: { defaultDpAddress: c.configuredAddresses.defaultDpAddress ?? null, rootDsAddress: c.configuredAddresses.rootDsAddress },
    EUICCInfo2: euiccInfo2Json(c.euiccInfo2),
    rulesAuthorisationTable: ratJson(c.rat),
  };
}

export function profileJson(p: ProfileInfo): Json {
  return {
    iccid: p.iccid ? iccidFromBytes(p.iccid) : null,
    isdpAid: p.isdpAid ? toHex(p.isdpAid) : null,
    profileState: p.profileState === undefined ? null : ProfileStates.describe(p.profileState),
    profileNickname: p.profileNickname ?? null,
    serviceProviderName: p.serviceProviderName ?? null,
    profileName: p.profileName ?? null,
    iconType: p.iconType === undefined ? null : IconTypes.describe(p.iconType),
    icon: p.icon ? bytesToBase64(p.icon) : null,
    profileClass: p.profileClass === undefined ? null : ProfileClasses.describe(p.profileClass),
  };
}

function operationJson(op: readonly string[]): string {
  return op.map((o) => o.replace(/^notification/, '').toLowerCase()).join(',');
}

export function notificationJson(n: NotificationMetadata): Json {
  return {
    seqNumber: n.seqNumber,
    profileManagementOperation: operationJson(n.profileManagementOperation),
    notificationAddress: n.notificationAddress,
    iccid: n.iccid ? iccidFromBytes(n.iccid) : null,
  };
}

export function deliveryJson(d: NotificationDelivery): Json {
  return {
    seqNumber: d.seqNumber,
    profileManagementOperation: operationJson(d.operation),
    notificationAddress: d.notificationAddress,
    iccid: d.iccid ?? null,
    delivered: d.delivered,
    removed: d.removed,
    error: d.error === undefined ? null : d.error instanceof Error ? d.error.message : String(d.error),
  };
}

export function downloadJson(r: DownloadResult): Json {
  return {
    smdpAddress: r.smdpAddress,
    iccid: r.iccid,
    isdpAid: toHex(r.isdpAid),
    serviceProviderName: r.metadata.serviceProviderName,
    profileName: r.metadata.profileName,
    profileClass: ProfileClasses.describe(r.metadata.profileClass ?? 2),
    notification: r.notification ? deliveryJson(r.notification) : null,
  };
}
