// SGP.22 common data types shared by ES8+, ES9+, ES10a/b/c and ES11 (RSPDefinitions v2.5):
// basic octet types, ICCID, transaction id, ProfileInfo (ES10c.GetProfilesInfo, 5.7.15),
// NotificationMetadata (5.7.9), DeviceInfo (4.2), the signed blocks of the mutual
// authentication (ServerSigned1/EuiccSigned1, 3.1.3 and 5.7.13) and of the download
// (SmdpSigned2/EuiccSigned2, 5.7.5), EUICCInfo1/EUICCInfo2 (4.3), RAT/PPR (2.9, 5.7.22).
// Tagging follows the module's AUTOMATIC TAGS + EXTENSIBILITY IMPLIED rules (see der.ts).
import {
  boolean,
  choice,
  type Codec,
  DerError,
  encodeTlv,
  flags,
  implicit,
  type Infer,
  integer,
  octets,
  oid,
  opt,
  parseTlv,
  rawTlv,
  seq,
  seqOf,
  type TaggableCodec,
  tagHex,
  tagIdOf,
  type Tlv,
  utf8,
} from './der.ts';

// ---------------------------------------------------------------------------
// Basic types

export const Octet1 = octets({ min: 1, max: 1 }, 'Octet1');
export const Octet2 = octets({ min: 2, max: 2 }, 'Octet2');
export const Octet4 = octets({ min: 4, max: 4 }, 'Octet4');
export const Octet8 = octets({ min: 8, max: 8 }, 'Octet8');
export const Octet16 = octets({ min: 16, max: 16 }, 'Octet16');
export const OctetTo16 = octets({ min: 1, max: 16 }, 'OctetTo16');
export const Octet32 = octets({ min: 32, max: 32 }, 'Octet32');
/** major/minor/revision as three binary bytes, e.g. 02 02 00 for v2.2.0 */
export const VersionType = octets({ min: 3, max: 3 }, 'VersionType');
/** [APPLICATION 26] '5A': the 10 bytes of EF.ICCID (BCD, nibble-swapped, F padded). */
export const Iccid = implicit(0x5a, octets({ min: 10, max: 10 }), 'Iccid');
export const TransactionId = octets({ min: 1, max: 16 }, 'TransactionId');
/** [2] INTEGER {installBoundProfilePackage(1)}, tag '82' */
export const RemoteOpId = implicit(2, integer('RemoteOpId'));
/** PKIX SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING */
export const SubjectKeyIdentifier = octets(undefined, 'SubjectKeyIdentifier');
/** X.509 Certificate (PKIX1Explicit88), kept as its exact DER bytes. */
export const Certificate = rawTlv(0x30, 'Certificate');
/** X.509 CertificateList (CRL), kept as its exact DER bytes. */
export const CertificateList = rawTlv(0x30, 'CertificateList');
/** [APPLICATION 55] OCTET STRING, tag '5F37': raw r||s ECDSA signature (64 bytes for 256-bit curves). */
export const Signature = implicit(0x5f37, octets(), 'Signature');
/** [APPLICATION 73] OCTET STRING, tag '5F49': one-time public key (uncompressed point). */
export const Otpk = implicit(0x5f49, octets(), 'Otpk');
/** [APPLICATION 15] OctetTo16, tag '4F': AID (of an ISD-P). */
export const IsdpAid = implicit(0x4f, OctetTo16, 'IsdpAid');

export type VersionType = Infer<typeof VersionType>;
export type Iccid = Infer<typeof Iccid>;
export type TransactionId = Infer<typeof TransactionId>;

// ---------------------------------------------------------------------------
// Helpers for the two encodings the engine has no primitive for

/**
 * `[n] OPENTYPE.&Type` (VendorSpecificExtension.vendorSpecificData): tagged open types are
 * EXPLICIT (X.680 31.2.7), so the value is one complete TLV of any type inside constructed [n].
 */
export function explicitOpenType(n: number, name: string): TaggableCodec<Uint8Array> {
  const id = { cls: 'context' as const, num: n };
  const tag = 0xa0 | n;
  const decodeContents = (tlv: Tlv, ctx: { path: string }): Uint8Array => {
    if (tlv.children.length !== 1)
      throw new DerError('invalidValue', `${name} must hold exactly one TLV, found ${tlv.children.length}`, tlv.offset, tlv.tag, ctx.path);
    return tlv.children[0]!.raw.slice();
  };
  const encodeContents = (v: Uint8Array): Uint8Array => {
    parseTlv(v, { der: false });
    return v;
  };
  return {
    name,
    id,
    constructed: true,
    tags: [tag],
    encodeContents,
    decodeContents,
    encode: (v) => encodeTlv(id, true, encodeContents(v)),
    decodeTlv(tlv, ctx) {
      if (tlv.tag !== tag) throw new DerError('unexpectedTag', `expected ${tagHex(tag)} for ${name}`, tlv.offset, tlv.tag, ctx.path);
      return decodeContents(tlv, ctx);
    },
  };
}

/**
 * An IMPLICITly retagged foreign SEQUENCE kept as bytes (LoadCRLRequest.crl is `[0] CertificateList`
 * under AUTOMATIC TAGS, so it travels as A0 instead of 30). The value is the ordinary DER of the
 * type (starting with 30); only the identifier octet changes on the wire, so it stays byte-exact.
 */
export function implicitRaw(wireTag: number, innerTag: number, name: string): Codec<Uint8Array> {
  if (wireTag > 0xff || innerTag > 0xff) throw new Error('implicitRaw handles one-byte tags only');
  const wire = tagIdOf(wireTag);
  return {
    name,
    tags: [wireTag],
    encode(v) {
      if (v.byteLength === 0 || parseTlv(v, { der: false }).tag !== innerTag) throw new RangeError(`${name}: value is not a ${tagHex(innerTag)} TLV`);
      const out = v.slice();
      out[0] = wireTag;
      return out;
    },
    decodeTlv(tlv, ctx) {
      if (tlv.tag !== wireTag || tlv.constructed !== wire.constructed)
        throw new DerError('unexpectedTag', `expected ${tagHex(wireTag)} for ${name}`, tlv.offset, tlv.tag, ctx.path);
      const out = tlv.raw.slice();
      out[0] = innerTag;
      return out;
    },
  };
}

// ---------------------------------------------------------------------------
// Named BIT STRINGs (bit 0 is the most significant bit of the first byte)

export const NotificationEvent = flags(['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'] as const, 'NotificationEvent');
export const PprIds = flags(['pprUpdateControl', 'ppr1', 'ppr2'] as const, 'PprIds');
export const RspCapability = flags(
  ['additionalProfile', 'crlSupport', 'rpmSupport', 'testProfileSupport', 'deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport'] as const,
  'RspCapability',
);
export const CertificateInfo = flags(['reserved', 'certSigningX509', 'rfu2', 'rfu3', 'reserved2', 'certVerificationX509'] as const, 'CertificateInfo');
export const TreProperties = flags(['isDiscrete', 'isIntegrated', 'usesRemoteMemory'] as const, 'TreProperties');
/** UICCCapability from PEDefinitions (SIMalliance/TCA eUICC Profile Package v3.3). */
export const UICCCapability = flags(
  [
    'contactlessSupport',
    'usimSupport',
    'isimSupport',
    'csimSupport',
    'akaMilenage',
    'akaCave',
    'akaTuak128',
    'akaTuak256',
    'usimTestAlgorithm',
    'rfu2',
    'gbaAuthenUsim',
    'gbaAuthenISim',
    'mbmsAuthenUsim',
    'eapClient',
    'javacard',
    'multos',
    'multipleUsimSupport',
    'multipleIsimSupport',
    'multipleCsimSupport',
    'berTlvFileSupport',
    'dfLinkSupport',
    'catTp',
    'getIdentity',
    'profile-a-x25519',
    'profile-b-p256',
    'suciCalculatorApi',
    'dns-resolution',
    'scp11ac',
    'scp11c-authorization-mechanism',
    's16mode',
    'eaka',
    'iotminimal',
  ] as const,
  'UICCCapability',
);
export const PprFlags = flags(['consentRequired'] as const, 'PprFlags');
/** DeviceCapabilities.catSupportedClasses: not defined in this version of SGP.22 (bits kept as bitN). */
export const CatSupportedClasses = flags([] as const, 'CatSupportedClasses');

export type NotificationEvent = Infer<typeof NotificationEvent>;
export type PprIds = Infer<typeof PprIds>;
export type RspCapability = Infer<typeof RspCapability>;
export type UICCCapability = Infer<typeof UICCCapability>;

// ---------------------------------------------------------------------------
// Named INTEGERs (names in results.ts)

/** INTEGER {disabled(0), enabled(1)} */
export const ProfileState = integer('ProfileState');
/** INTEGER {test(0), provisioning(1), operational(2)} */
export const ProfileClass = integer('ProfileClass');
/** INTEGER {jpg(0), png(1)} */
export const IconType = integer('IconType');

// ---------------------------------------------------------------------------
// Profile metadata components

/** OperatorId: all components untagged, so automatic [0] [1] [2]. */
export const OperatorId = seq('OperatorId', {
  mccMnc: implicit(0, octets({ min: 3, max: 3 })),
  gid1: opt(implicit(1, octets())),
  gid2: opt(implicit(2, octets())),
});
export type OperatorId = Infer<typeof OperatorId>;

export const NotificationConfigurationInformation = seq('NotificationConfigurationInformation', {
  profileManagementOperation: implicit(0, NotificationEvent),
  notificationAddress: implicit(1, utf8()),
});
export type NotificationConfigurationInformation = Infer<typeof NotificationConfigurationInformation>;

/** DpProprietaryData: dpOid is automatically tagged [0] (tag 80); further SM-DP+ data objects are skipped as extensions. */
export const DpProprietaryData = seq('DpProprietaryData', { dpOid: implicit(0, oid()) });
export type DpProprietaryData = Infer<typeof DpProprietaryData>;

export const VendorSpecificExtensionItem = seq('VendorSpecificExtensionItem', {
  vendorOid: implicit(0, oid()),
  vendorSpecificData: explicitOpenType(1, 'vendorSpecificData'),
});
export const VendorSpecificExtension = seqOf(VendorSpecificExtensionItem, 'VendorSpecificExtension');
export type VendorSpecificExtension = Infer<typeof VendorSpecificExtension>;

/** ProfileInfo [PRIVATE 3] 'E3' (ES10c.GetProfilesInfo, 5.7.15). */
export const ProfileInfo = implicit(
  0xe3,
  seq('ProfileInfo', {
    iccid: opt(Iccid),
    isdpAid: opt(IsdpAid),
    profileState: opt(implicit(0x9f70, ProfileState)),
    profileNickname: opt(implicit(16, utf8({ max: 64 }))),
    serviceProviderName: opt(implicit(17, utf8({ max: 32 }))),
    profileName: opt(implicit(18, utf8({ max: 64 }))),
    iconType: opt(implicit(19, IconType)),
    icon: opt(implicit(20, octets({ max: 1024 }))),
    profileClass: opt(implicit(21, ProfileClass)),
    notificationConfigurationInfo: opt(implicit(22, seqOf(NotificationConfigurationInformation))),
    profileOwner: opt(implicit(23, OperatorId)),
    dpProprietaryData: opt(implicit(24, DpProprietaryData)),
    profilePolicyRules: opt(implicit(25, PprIds)),
    serviceSpecificDataStoredInEuicc: opt(implicit(0xbf22, VendorSpecificExtension)),
  }),
);
export type ProfileInfo = Infer<typeof ProfileInfo>;

/** NotificationMetadata [47] 'BF2F' (ES10b.ListNotification, 5.7.9). */
export const NotificationMetadata = implicit(
  0xbf2f,
  seq('NotificationMetadata', {
    seqNumber: implicit(0, integer()),
    profileManagementOperation: implicit(1, NotificationEvent),
    notificationAddress: utf8(),
    iccid: opt(Iccid),
  }),
);
export type NotificationMetadata = Infer<typeof NotificationMetadata>;

// ---------------------------------------------------------------------------
// Device information (4.2), all SEQUENCEs here are automatically tagged

export const DeviceAdditionalFeatureSupport = seq('DeviceAdditionalFeatureSupport', {
  naiSupport: opt(implicit(0, VersionType)),
});

export const DeviceCapabilities = seq('DeviceCapabilities', {
  gsmSupportedRelease: opt(implicit(0, VersionType)),
  utranSupportedRelease: opt(implicit(1, VersionType)),
  cdma2000onexSupportedRelease: opt(implicit(2, VersionType)),
  cdma2000hrpdSupportedRelease: opt(implicit(3, VersionType)),
  cdma2000ehrpdSupportedRelease: opt(implicit(4, VersionType)),
  eutranEpcSupportedRelease: opt(implicit(5, VersionType)),
  contactlessSupportedRelease: opt(implicit(6, VersionType)),
  rspCrlSupportedVersion: opt(implicit(7, VersionType)),
  nrEpcSupportedRelease: opt(implicit(8, VersionType)),
  nr5gcSupportedRelease: opt(implicit(9, VersionType)),
  eutran5gcSupportedRelease: opt(implicit(10, VersionType)),
  lpaSvn: opt(implicit(11, VersionType)),
  catSupportedClasses: opt(implicit(12, CatSupportedClasses)),
  euiccFormFactorType: opt(implicit(13, integer('EuiccFormFactorType'))),
  deviceAdditionalFeatureSupport: opt(implicit(14, DeviceAdditionalFeatureSupport)),
});
export type DeviceCapabilities = Infer<typeof DeviceCapabilities>;

export const DeviceInfo = seq('DeviceInfo', {
  tac: implicit(0, Octet4),
  deviceCapabilities: implicit(1, DeviceCapabilities),
  imei: opt(implicit(2, Octet8)),
});
export type DeviceInfo = Infer<typeof DeviceInfo>;

export const CtxParamsForCommonAuthentication = seq('CtxParamsForCommonAuthentication', {
  matchingId: opt(implicit(0, utf8())),
  deviceInfo: implicit(1, DeviceInfo),
});
export type CtxParamsForCommonAuthentication = Infer<typeof CtxParamsForCommonAuthentication>;

/** CtxParams1: untagged CHOICE whose single alternative is automatically tagged [0] ('A0'). */
export const CtxParams1 = choice('CtxParams1', {
  ctxParamsForCommonAuthentication: implicit(0, CtxParamsForCommonAuthentication),
});
export type CtxParams1 = Infer<typeof CtxParams1>;

// ---------------------------------------------------------------------------
// EUICCInfo1 / EUICCInfo2 (4.3, ES10b.GetEUICCInfo 5.7.8)

export const EUICCInfo1 = implicit(
  0xbf20,
  seq('EUICCInfo1', {
    svn: implicit(2, VersionType),
    euiccCiPKIdListForVerification: implicit(9, seqOf(SubjectKeyIdentifier)),
    euiccCiPKIdListForSigning: implicit(10, seqOf(SubjectKeyIdentifier)),
  }),
);
export type EUICCInfo1 = Infer<typeof EUICCInfo1>;

/** CertificationDataObject: automatically tagged (80 platformLabel, 81 discoveryBaseURL). */
export const CertificationDataObject = seq('CertificationDataObject', {
  platformLabel: implicit(0, utf8()),
  discoveryBaseURL: implicit(1, utf8()),
});

/**
 * EUICCInfo2 'BF22'. The sequence tags some components, so the untagged ones keep their
 * universal tags: ppVersion is OCTET STRING '04', sasAcreditationNumber UTF8String '0C'.
 */
export const EUICCInfo2 = implicit(
  0xbf22,
  seq('EUICCInfo2', {
    profileVersion: implicit(1, VersionType),
    svn: implicit(2, VersionType),
    euiccFirmwareVer: implicit(3, VersionType),
    extCardResource: implicit(4, octets()),
    uiccCapability: implicit(5, UICCCapability),
    ts102241Version: opt(implicit(6, VersionType)),
    globalplatformVersion: opt(implicit(7, VersionType)),
    rspCapability: implicit(8, RspCapability),
    euiccCiPKIdListForVerification: implicit(9, seqOf(SubjectKeyIdentifier)),
    euiccCiPKIdListForSigning: implicit(10, seqOf(SubjectKeyIdentifier)),
    euiccCategory: opt(implicit(11, integer('EuiccCategory'))),
    forbiddenProfilePolicyRules: opt(implicit(25, PprIds)),
    ppVersion: VersionType,
    sasAcreditationNumber: utf8({ max: 64 }),
    certificationDataObject: opt(implicit(12, CertificationDataObject)),
    treProperties: opt(implicit(13, TreProperties)),
    treProductReference: opt(implicit(14, utf8())),
    additionalEuiccProfilePackageVersions: opt(implicit(15, seqOf(VersionType))),
  }),
);
export type EUICCInfo2 = Infer<typeof EUICCInfo2>;

// ---------------------------------------------------------------------------
// Signed blocks (the signature covers derOf(codec, value) of these)

/** ServerSigned1 (signed by CERT.XXauth, 5.6.1 / 5.7.13). */
export const ServerSigned1 = seq('ServerSigned1', {
  transactionId: implicit(0, TransactionId),
  euiccChallenge: implicit(1, Octet16),
  serverAddress: implicit(3, utf8()),
  serverChallenge: implicit(4, Octet16),
});
export type ServerSigned1 = Infer<typeof ServerSigned1>;

/** EuiccSigned1 (signed by the eUICC in ES10b.AuthenticateServer). euiccInfo2 keeps 'BF22'. */
export const EuiccSigned1 = seq('EuiccSigned1', {
  transactionId: implicit(0, TransactionId),
  serverAddress: implicit(3, utf8()),
  serverChallenge: implicit(4, Octet16),
  euiccInfo2: EUICCInfo2,
  ctxParams1: CtxParams1,
});
export type EuiccSigned1 = Infer<typeof EuiccSigned1>;

/** SmdpSigned2 (signed by CERT.DPpb, 5.6.2 / 5.7.5). ccRequiredFlag is a universal BOOLEAN '01'. */
export const SmdpSigned2 = seq('SmdpSigned2', {
  transactionId: implicit(0, TransactionId),
  ccRequiredFlag: boolean(),
  bppEuiccOtpk: opt(Otpk),
});
export type SmdpSigned2 = Infer<typeof SmdpSigned2>;

/** EUICCSigned2 (ES10b.PrepareDownload response). hashCc is a universal OCTET STRING '04'. */
export const EuiccSigned2 = seq('EUICCSigned2', {
  transactionId: implicit(0, TransactionId),
  euiccOtpk: Otpk,
  hashCc: opt(Octet32),
});
export type EuiccSigned2 = Infer<typeof EuiccSigned2>;

// ---------------------------------------------------------------------------
// Rules Authorisation Table (ES10b.GetRAT, 5.7.22)

export const ProfilePolicyAuthorisationRule = seq('ProfilePolicyAuthorisationRule', {
  pprIds: implicit(0, PprIds),
  allowedOperators: implicit(1, seqOf(OperatorId)),
  pprFlags: implicit(2, PprFlags),
});
export type ProfilePolicyAuthorisationRule = Infer<typeof ProfilePolicyAuthorisationRule>;

export const RulesAuthorisationTable = seqOf(ProfilePolicyAuthorisationRule, 'RulesAuthorisationTable');
export type RulesAuthorisationTable = Infer<typeof RulesAuthorisationTable>;

// ---------------------------------------------------------------------------
// ISD-R SELECT response proprietary template (SGP.22 2.4.x, tag 'E0')

export const LpaeSupport = flags(['lpaeUsingCat', 'lpaeUsingScws'] as const, 'LpaeSupport');
export const ISDRProprietaryApplicationTemplate = implicit(
  0xe0,
  seq('ISDRProprietaryApplicationTemplate', {
    svn: implicit(2, VersionType),
    lpaeSupport: opt(LpaeSupport),
  }),
);
export type ISDRProprietaryApplicationTemplate = Infer<typeof ISDRProprietaryApplicationTemplate>;
