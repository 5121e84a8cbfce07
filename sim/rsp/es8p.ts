// ES8+ (SM-DP+ -> eUICC through the LPA, SGP.22 5.5) and the Bound Profile Package
// (2.5.4): InitialiseSecureChannelRequest 'BF23' (5.5.1), ConfigureISDPRequest 'BF24'
// (5.5.2), StoreMetadataRequest 'BF25' (5.5.3), ReplaceSessionKeysRequest 'BF26' (5.5.4),
// BoundProfilePackage 'BF36', UpdateMetadataRequest 'BF2A' (ES6, 5.4.1), and how an LPA
// cuts a BPP into ES10b.LoadBoundProfilePackage STORE DATA sequences (2.5.5 / 5.7.4).
import { concat, DerError, encodeTlv, implicit, type Infer, octets, opt, parseTlv, seq, seqOf, tagHex, type Tlv, utf8, withDefault } from './der.ts';
import {
  DpProprietaryData,
  Iccid,
  IconType,
  NotificationConfigurationInformation,
  Octet1,
  OctetTo16,
  OperatorId,
  Otpk,
  PprIds,
  ProfileClass,
  RemoteOpId,
  Signature,
  TransactionId,
  VendorSpecificExtension,
} from './common.ts';

// ---------------------------------------------------------------------------
// InitialiseSecureChannel (5.5.1)

/** CRT for key agreement, 'A6' in the ISCR: 80 keyType ('88' = AES), 81 keyLen ('10'), 84 hostId */
export const ControlRefTemplate = seq('ControlRefTemplate', {
  keyType: implicit(0, Octet1),
  keyLen: implicit(1, Octet1),
  hostId: implicit(4, OctetTo16),
});
export type ControlRefTemplate = Infer<typeof ControlRefTemplate>;

/** 'BF23': 82 remoteOpId, 80 transactionId, A6 controlRefTemplate, 5F49 smdpOtpk, 5F37 smdpSign */
export const InitialiseSecureChannelRequest = implicit(
  0xbf23,
  seq('InitialiseSecureChannelRequest', {
    remoteOpId: RemoteOpId,
    transactionId: implicit(0, TransactionId),
    controlRefTemplate: implicit(6, ControlRefTemplate),
    smdpOtpk: Otpk,
    smdpSign: Signature,
  }),
);
export type InitialiseSecureChannelRequest = Infer<typeof InitialiseSecureChannelRequest>;

/**
 * The data smdpSign covers (5.5.1, InitialiseSecureChannelRequest-ver): the received BF23
 * contents up to (excluding) 5F37 smdpSign, followed by 5F49 euiccOtpk. Works on the raw
 * bytes so that a signature is always checked over what was received.
 */
export function iscrSignatureInput(iscrDer: Uint8Array, euiccOtpk: Uint8Array): Uint8Array {
  const iscr = parseTlv(iscrDer);
  if (iscr.tag !== 0xbf23) throw new DerError('unexpectedTag', `expected BF23, found ${tagHex(iscr.tag)}`, 0, iscr.tag);
  const signed = iscr.children.filter((c) => c.tag !== 0x5f37).map((c) => c.raw);
  return concat([...signed, encodeTlv({ cls: 'application', num: 73 }, false, euiccOtpk)]);
}

// ---------------------------------------------------------------------------
// ConfigureISDP (5.5.2), StoreMetadata (5.5.3), ReplaceSessionKeys (5.5.4)

/** 'BF24' { B8 dpProprietaryData? } */
export const ConfigureISDPRequest = implicit(0xbf24, seq('ConfigureISDPRequest', { dpProprietaryData: opt(implicit(24, DpProprietaryData)) }));
export type ConfigureISDPRequest = Infer<typeof ConfigureISDPRequest>;

/** 'BF25' profile metadata; profileClass DEFAULT operational(2) is omitted when 2. */
export const StoreMetadataRequest = implicit(
  0xbf25,
  seq('StoreMetadataRequest', {
    iccid: Iccid,
    serviceProviderName: implicit(17, utf8({ max: 32 })),
    profileName: implicit(18, utf8({ max: 64 })),
    iconType: opt(implicit(19, IconType)),
    icon: opt(implicit(20, octets({ max: 1024 }))),
    profileClass: withDefault(implicit(21, ProfileClass), 2),
    notificationConfigurationInfo: opt(implicit(22, seqOf(NotificationConfigurationInformation))),
    profileOwner: opt(implicit(23, OperatorId)),
    profilePolicyRules: opt(implicit(25, PprIds)),
    serviceSpecificDataStoredInEuicc: opt(implicit(0xbf22, VendorSpecificExtension)),
    serviceSpecificDataNotStoredInEuicc: opt(implicit(0xbf23, VendorSpecificExtension)),
  }),
);
export type StoreMetadataRequest = Infer<typeof StoreMetadataRequest>;

/** 'BF26' { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac } (automatically tagged) */
export const ReplaceSessionKeysRequest = implicit(
  0xbf26,
  seq('ReplaceSessionKeysRequest', {
    initialMacChainingValue: implicit(0, octets()),
    ppkEnc: implicit(1, octets()),
    ppkCmac: implicit(2, octets()),
  }),
);
export type ReplaceSessionKeysRequest = Infer<typeof ReplaceSessionKeysRequest>;

/** ES6.UpdateMetadata 'BF2A' (5.4.1); carried inside a profile, not by the LPA. */
export const UpdateMetadataRequest = implicit(
  0xbf2a,
  seq('UpdateMetadataRequest', {
    serviceProviderName: opt(implicit(17, utf8({ max: 32 }))),
    profileName: opt(implicit(18, utf8({ max: 64 }))),
    iconType: opt(implicit(19, IconType)),
    icon: opt(implicit(20, octets({ max: 1024 }))),
    profilePolicyRules: opt(implicit(25, PprIds)),
    serviceSpecificDataStoredInEuicc: opt(implicit(0xbf22, VendorSpecificExtension)),
  }),
);
export type UpdateMetadataRequest = Infer<typeof UpdateMetadataRequest>;

// ---------------------------------------------------------------------------
// Bound Profile Package (2.5.4)

/**
 * 'BF36' { BF23 ISCR, A0 { 87 ... }, A1 { 88 ... }, A2 { 87 ... }?, A3 { 86 ... } }.
 * Each item is the contents of one 87/88/86 TLV (the SCP03t-protected segment).
 */
export const BoundProfilePackage = implicit(
  0xbf36,
  seq('BoundProfilePackage', {
    initialiseSecureChannelRequest: InitialiseSecureChannelRequest,
    firstSequenceOf87: implicit(0, seqOf(implicit(7, octets()))),
    sequenceOf88: implicit(1, seqOf(implicit(8, octets()))),
    secondSequenceOf87: opt(implicit(2, seqOf(implicit(7, octets())))),
    sequenceOf86: implicit(3, seqOf(implicit(6, octets()))),
  }),
);
export type BoundProfilePackage = Infer<typeof BoundProfilePackage>;

/** What one ES10b.LoadBoundProfilePackage STORE DATA sequence carries, and why. */
export interface BppSegment {
  /** which part of the BPP this is */
  readonly kind: 'bf36Header+iscr' | 'firstSequenceOf87' | 'sequenceOf88Header' | 'tlv88' | 'secondSequenceOf87' | 'sequenceOf86Header' | 'tlv86';
  /** offset of the first byte in the BPP */
  readonly offset: number;
  /** the exact bytes (a view into the BPP) */
  readonly bytes: Uint8Array;
}

function header(t: Tlv): Uint8Array {
  return t.raw.subarray(0, t.valueOffset - t.offset);
}

/**
 * Cut a BPP into the byte sequences an LPA sends as separate STORE DATA command
 * sequences (SGP.22 2.5.5): (1) BF36 tag+length together with the whole BF23;
 * (2) the whole A0; (3) the A1 tag+length, then each 88 TLV; (4) the whole A2 if
 * present; (5) the A3 tag+length, then each 86 TLV. Works on the raw bytes, so the
 * concatenation of all segments is the input BPP. Each sequence is then cut into
 * STORE DATA blocks by the APDU layer (sim/apdu). Large 86 segments (1036+ bytes,
 * as the osmocom SM-DP+ emits) are kept whole.
 */
export function bppSegmentsForLoading(bppDer: Uint8Array): BppSegment[] {
  const bpp = parseTlv(bppDer);
  if (bpp.tag !== 0xbf36) throw new DerError('unexpectedTag', `a Bound Profile Package starts with BF36, found ${tagHex(bpp.tag)}`, 0, bpp.tag);
  const kids = bpp.children;
  const expect = (i: number, tag: number, what: string): Tlv => {
    const t = kids[i];
    if (!t) throw new DerError('missingField', `BoundProfilePackage.${what} (${tagHex(tag)}) is missing`, bpp.offset + bpp.raw.byteLength, bpp.tag);
    if (t.tag !== tag) throw new DerError('unexpectedTag', `expected ${tagHex(tag)} (${what}), found ${tagHex(t.tag)}`, t.offset, t.tag, 'BoundProfilePackage');
    return t;
  };
  const checkItems = (seqTlv: Tlv, itemTag: number): void => {
    for (const c of seqTlv.children)
      if (c.tag !== itemTag) throw new DerError('unexpectedTag', `expected ${tagHex(itemTag)} inside ${tagHex(seqTlv.tag)}, found ${tagHex(c.tag)}`, c.offset, c.tag, 'BoundProfilePackage');
  };
  const seg = (kind: BppSegment['kind'], start: number, end: number): BppSegment => ({ kind, offset: start, bytes: bppDer.subarray(start, end) });

  const iscr = expect(0, 0xbf23, 'initialiseSecureChannelRequest');
  const a0 = expect(1, 0xa0, 'firstSequenceOf87');
  const a1 = expect(2, 0xa1, 'sequenceOf88');
  let i = 3;
  const a2 = kids[i]?.tag === 0xa2 ? kids[i++]! : undefined;
  const a3 = expect(i, 0xa3, 'sequenceOf86');
  checkItems(a0, 0x87);
  checkItems(a1, 0x88);
  if (a2) checkItems(a2, 0x87);
  checkItems(a3, 0x86);
  if (kids.length > i + 1) {
    const extra = kids[i + 1]!;
    throw new DerError('invalidValue', `unexpected ${tagHex(extra.tag)} after sequenceOf86`, extra.offset, extra.tag, 'BoundProfilePackage');
  }

  const out: BppSegment[] = [seg('bf36Header+iscr', 0, iscr.offset + iscr.raw.byteLength)];
  out.push(seg('firstSequenceOf87', a0.offset, a0.offset + a0.raw.byteLength));
  out.push(seg('sequenceOf88Header', a1.offset, a1.offset + header(a1).byteLength));
  for (const c of a1.children) out.push(seg('tlv88', c.offset, c.offset + c.raw.byteLength));
  if (a2) out.push(seg('secondSequenceOf87', a2.offset, a2.offset + a2.raw.byteLength));
  out.push(seg('sequenceOf86Header', a3.offset, a3.offset + header(a3).byteLength));
  for (const c of a3.children) out.push(seg('tlv86', c.offset, c.offset + c.raw.byteLength));
  return out;
}
