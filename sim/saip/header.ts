// SAIP ProfileHeader (eUICC Profile Package v2.x 8.2, PEDefinitions `ProfileHeader`,
// the `header` [0] A0 alternative of ProfileElement): full codec on the DER engine,
// ASN.1 names in camelCase (eUICC-Mandatory-services -> euiccMandatoryServices).
// iccid is plain BCD, F-padded ('89000123456789012341'H), unlike the swapped EF.ICCID
// (sim/rsp/iccid.ts). Components of later SAIP versions are skipped on decode, so
// re-encoding drops them: personalisation rebuilds TLVs instead.
import { decode, encode, implicit, mapped, nullValue, oid, octets, opt, seq, seqOf, tagValue, utf8, type Codec, type Infer } from '../rsp/der.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { UInt8 } from './file.ts';
import { PE_STATUS, SaipError } from './errors.ts';

/** ServicesList components in declaration order: index = context tag number. */
export const MANDATORY_SERVICE_NAMES = [
  'contactless',
  'usim',
  'isim',
  'csim',
  'milenage',
  'tuak128',
  'cave',
  'gba-usim',
  'gba-isim',
  'mbms',
  'eap',
  'javacard',
  'multos',
  'multiple-usim',
  'multiple-isim',
  'multiple-csim',
  'tuak256',
  'usim-test-algorithm',
  'ber-tlv',
  'dfLink',
  'cat-tp',
  'get-identity',
  'profile-a-x25519',
  'profile-b-p256',
  'suciCalculatorApi',
  'dns-resolution',
  'scp11ac',
  'scp11c-authorization-mechanism',
  's16mode',
  'eaka',
] as const;

/** A service name; components of later SAIP versions decode as `service<n>`. */
export type MandatoryService = (typeof MANDATORY_SERVICE_NAMES)[number] | `service${number}`;

const MAX_SERVICE_TAG = 127;

/** One `xxx NULL OPTIONAL` component of ServicesList, valued by its tag number. */
const serviceFlag: Codec<number> = {
  name: 'ServicesList component',
  tags: Array.from({ length: MAX_SERVICE_TAG + 1 }, (_, n) => tagValue({ cls: 'context', num: n }, false)),
  encode: (n) => encode(implicit({ cls: 'context', num: n }, nullValue()), null),
  decodeTlv(tlv, ctx) {
    implicit({ cls: 'context', num: tlv.id.num }, nullValue()).decodeTlv(tlv, ctx);
    return tlv.id.num;
  },
};

function serviceNumber(s: MandatoryService): number {
  const i = (MANDATORY_SERVICE_NAMES as readonly string[]).indexOf(s);
  if (i >= 0) return i;
  const m = /^service(\d+)$/.exec(s);
  if (!m || Number(m[1]) > MAX_SERVICE_TAG) throw new RangeError(`unknown eUICC-Mandatory-service ${s}`);
  return Number(m[1]);
}

function servicesToNames(nums: number[]): MandatoryService[] {
  nums.forEach((n, i) => {
    if (i > 0 && n <= nums[i - 1]!) throw new RangeError(`ServicesList components out of order or repeated at [${n}]`);
  });
  return nums.map((n) => MANDATORY_SERVICE_NAMES[n] ?? (`service${n}` as const));
}

function namesToServices(names: MandatoryService[]): number[] {
  return [...new Set(names.map(serviceNumber))].sort((a, b) => a - b);
}

/**
 * ServicesList ::= SEQUENCE { contactless NULL OPTIONAL, usim NULL OPTIONAL, ... }
 * as the list of names present, in tag order (DER order on encode).
 */
export const ServicesList = mapped(seqOf(serviceFlag, 'ServicesList'), servicesToNames, namesToServices, 'ServicesList');

export const MandatoryAid = seq('MandatoryAid', {
  aid: implicit(0, octets({ min: 5, max: 16 })),
  version: implicit(1, octets({ min: 2, max: 2 })),
});

export const IotOptions = seq('IotOptions', {
  pix: implicit(0, octets({ min: 7, max: 11 })),
});

export const ProfileHeaderSeq = seq('ProfileHeader', {
  majorVersion: implicit(0, UInt8),
  minorVersion: implicit(1, UInt8),
  profileType: opt(implicit(2, utf8({ min: 1, max: 100 }))),
  iccid: implicit(3, octets({ min: 10, max: 10 })),
  pol: opt(implicit(4, octets())),
  euiccMandatoryServices: implicit(5, ServicesList),
  euiccMandatoryGfsteList: implicit(6, seqOf(oid())),
  connectivityParameters: opt(implicit(7, octets())),
  euiccMandatoryAids: opt(implicit(8, seqOf(MandatoryAid))),
  iotOptions: opt(implicit(9, IotOptions)),
});

/** The header PE: `header [0] ProfileHeader`, tag A0. */
export const ProfileHeaderElement = implicit(0, ProfileHeaderSeq, 'ProfileHeader');

export type ProfileHeader = Infer<typeof ProfileHeaderSeq>;

/** Decode a header PE (A0 TLV); strict DER. */
export function decodeProfileHeader(raw: Uint8Array): ProfileHeader {
  return decode(ProfileHeaderElement, raw);
}

/** Encode a header PE (A0 TLV). */
export function encodeProfileHeader(header: ProfileHeader): Uint8Array {
  return encode(ProfileHeaderElement, header);
}

/** 'major.minor' SAIP version of a header. */
export function saipVersion(header: ProfileHeader): string {
  return `${header.majorVersion}.${header.minorVersion}`;
}

/** Header iccid bytes (plain BCD, F-padded) -> digits. */
export function headerIccidToDigits(iccid: Uint8Array): string {
  const hex = toHex(iccid).toUpperCase().replace(/F+$/, '');
  if (!/^\d+$/.test(hex))
    throw new SaipError('invalidContent', `ProfileHeader iccid ${toHex(iccid)} is not F-padded BCD`, { peStatus: PE_STATUS.badValues });
  return hex;
}

/** ICCID digits -> header iccid bytes (plain BCD, F-padded to 10 bytes). */
export function digitsToHeaderIccid(iccid: string): Uint8Array {
  if (!/^\d{1,20}$/.test(iccid)) throw new RangeError(`ICCID must be 1..20 digits, got ${JSON.stringify(iccid)}`);
  return hexToBytes(iccid.padEnd(20, 'F'));
}
