// Test helper: the 18 GSMA TS.48 Generic eUICC Test Profiles copied into
// sim/smdp/profiles/ (public GSMA test data), with the values each one holds.
// Checked by splitting and walking every file (see profile.test.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROFILES_DIR = fileURLToPath(new URL('../../smdp/profiles/', import.meta.url));

export interface Ts48Profile {
  file: string;
  iccid: string;
  imsi: string;
  saipVersion: string;
  elementCount: number;
  size: number;
  /** eUICC-Mandatory-services of the header */
  services: string;
}

const S21 = 'usim,isim,csim,usim-test-algorithm';
const S21_BER = `${S21},ber-tlv`;
const S23 = 'usim,isim,csim,usim-test-algorithm,get-identity,profile-a-x25519,profile-b-p256';
const S23_BER = 'usim,isim,csim,usim-test-algorithm,ber-tlv,get-identity,profile-a-x25519,profile-b-p256';
const ICCID = '89000123456789012341';
const IMSI = '001010123456063';

export const TS48_PROFILES: readonly Ts48Profile[] = [
  { file: 'TS48v1_A.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 11768, services: 'usim,isim,csim,javacard,usim-test-algorithm' },
  { file: 'TS48v1_B.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 29, size: 11785, services: 'usim,isim,csim,javacard,usim-test-algorithm' },
  { file: 'TS48v2_SAIP2.1_BERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12257, services: S21_BER },
  { file: 'TS48v2_SAIP2.1_NoBERTLV.der', iccid: '89000123456789012358', imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12207, services: S21 },
  { file: 'TS48v2_SAIP2.3_BERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12309, services: S23_BER },
  { file: 'TS48v2_SAIP2.3_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12251, services: S23 },
  { file: 'TS48v3_SAIP2.1_BERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12117, services: S21_BER },
  { file: 'TS48v3_SAIP2.1_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12065, services: S21 },
  { file: 'TS48v3_SAIP2.3_BERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12166, services: S23_BER },
  { file: 'TS48v3_SAIP2.3_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12105, services: S23 },
  { file: 'TS48v4_SAIP2.1A_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12079, services: S21 },
  { file: 'TS48v4_SAIP2.1B_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 29, size: 12096, services: S21 },
  { file: 'TS48v4_SAIP2.3_BERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12180, services: S23_BER },
  { file: 'TS48v4_SAIP2.3_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12119, services: S23 },
  { file: 'TS48v5_SAIP2.1A_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 28, size: 12060, services: S21 },
  { file: 'TS48v5_SAIP2.1B_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.1', elementCount: 29, size: 12140, services: S21 },
  { file: 'TS48v5_SAIP2.3_BERTLV_SUCI.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12284, services: S23_BER },
  { file: 'TS48v5_SAIP2.3_NoBERTLV.der', iccid: ICCID, imsi: IMSI, saipVersion: '2.3', elementCount: 30, size: 12163, services: S23 },
];

export function loadProfile(file: string): Uint8Array {
  return new Uint8Array(readFileSync(PROFILES_DIR + file));
}

/** PE sequences seen in the TS.48 files (28, 29 and 30 elements). */
export const PE_SEQUENCE_28 =
  'header mf pukCodes pinCodes telecom pinCodes genericFileManagement usim opt-usim pinCodes akaParameter gsm-access csim opt-csim pinCodes cdmaParameter isim opt-isim pinCodes akaParameter genericFileManagement genericFileManagement securityDomain rfm rfm rfm rfm end';
/** "B" variants: an extra genericFileManagement after telecom, before its PIN codes */
export const PE_SEQUENCE_29 =
  'header mf pukCodes pinCodes telecom genericFileManagement pinCodes genericFileManagement usim opt-usim pinCodes akaParameter gsm-access csim opt-csim pinCodes cdmaParameter isim opt-isim pinCodes akaParameter genericFileManagement genericFileManagement securityDomain rfm rfm rfm rfm end';
/** SAIP 2.3: df-5gs and df-saip after gsm-access */
export const PE_SEQUENCE_30 =
  'header mf pukCodes pinCodes telecom pinCodes genericFileManagement usim opt-usim pinCodes akaParameter gsm-access df-5gs df-saip csim opt-csim pinCodes cdmaParameter isim opt-isim pinCodes akaParameter genericFileManagement genericFileManagement securityDomain rfm rfm rfm rfm end';
