// The ES10 functions of the ISD-R by top-level tag (SGP.22 5.7: ES10a 5.7.3-5.7.4,
// ES10b 5.7.5-5.7.14 and 5.7.22, ES10c 5.7.15-5.7.21). Each is one complete STORE
// DATA command (GlobalPlatform 11.11) whose first TLV tag names the function;
// LoadBoundProfilePackage (5.7.6) arrives as several sequences (2.5.5): 'BF36' header
// with the ISCR, then 'A0', 'A1' header, '88', 'A2', 'A3' header and '86' elements.

export const ES10_FUNCTIONS = {
  GetEuiccConfiguredAddresses: 0xbf3c,
  SetDefaultDpAddress: 0xbf3f,
  PrepareDownload: 0xbf21,
  LoadBoundProfilePackage: 0xbf36,
  GetEUICCChallenge: 0xbf2e,
  GetEUICCInfo1: 0xbf20,
  GetEUICCInfo2: 0xbf22,
  ListNotification: 0xbf28,
  RetrieveNotificationsList: 0xbf2b,
  /** RemoveNotificationFromList (5.7.11) */
  NotificationSent: 0xbf30,
  LoadCRL: 0xbf35,
  AuthenticateServer: 0xbf38,
  CancelSession: 0xbf41,
  GetRAT: 0xbf43,
  GetProfilesInfo: 0xbf2d,
  EnableProfile: 0xbf31,
  DisableProfile: 0xbf32,
  DeleteProfile: 0xbf33,
  eUICCMemoryReset: 0xbf34,
  GetEID: 0xbf3e,
  SetNickname: 0xbf29,
} as const;

export type Es10FunctionName = keyof typeof ES10_FUNCTIONS;

export const ES10_FUNCTION_NAMES = Object.keys(ES10_FUNCTIONS) as Es10FunctionName[];

/** Tags that continue a LoadBoundProfilePackage after its first ('BF36') sequence. */
export const BPP_CONTINUATION_TAGS: ReadonlySet<number> = new Set([0xa0, 0xa1, 0x88, 0xa2, 0xa3, 0x86]);

const BY_TAG = new Map<number, Es10FunctionName>(ES10_FUNCTION_NAMES.map((n) => [ES10_FUNCTIONS[n], n]));

/** The function a command's top-level tag names (BPP continuation tags name LoadBoundProfilePackage). */
export function es10FunctionOfTag(tag: number): Es10FunctionName | undefined {
  if (BPP_CONTINUATION_TAGS.has(tag)) return 'LoadBoundProfilePackage';
  return BY_TAG.get(tag);
}

export function isEs10FunctionName(s: string): s is Es10FunctionName {
  return Object.hasOwn(ES10_FUNCTIONS, s);
}

/**
 * The identifier octets of the first TLV of `bytes` as a number (0xBF3E, 0x86), or
 * undefined when they do not form a complete tag. Only the tag: the rest may be partial.
 */
export function leadingTag(bytes: Uint8Array): number | undefined {
  const first = bytes[0];
  if (first === undefined) return undefined;
  if ((first & 0x1f) !== 0x1f) return first;
  let tag = first;
  for (let i = 1; i < Math.min(bytes.length, 4); i++) {
    const b = bytes[i]!;
    tag = tag * 256 + b;
    if ((b & 0x80) === 0) return tag;
  }
  return undefined;
}
