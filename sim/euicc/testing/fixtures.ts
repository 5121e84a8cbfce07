// Shared fixtures of the eUICC's tests: the TS.48 packages of sim/smdp/profiles
// (GSMA TS.48 Generic eUICC Test Profiles, SAIP), personalised copies with other
// ICCIDs, an eUICC + test LPA + test SM-DP+ trio, a one-call profile install through
// the real APDU path (SGP.22 3.1.3 download), temporary state files, and checks of
// the eUICC's signatures on PIRs and notifications (SGP.22 5.7.6, 5.7.10).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, derOf } from '../../rsp/der.ts';
import { NotificationMetadata } from '../../rsp/common.ts';
import { OtherSignedNotification, PendingNotification, ProfileInstallationResult, ProfileInstallationResultData } from '../../rsp/es10b.ts';
import { iccidLuhn } from '../../rsp/iccid.ts';
import { verify as ecdsaVerify } from '../../crypto/ecdsa.ts';
import { parseCert } from '../../../certs/cert.ts';
import { personaliseProfile } from '../../saip/personalise.ts';
import { createEuicc, type Euicc } from '../euicc.ts';
import type { EuiccOptions } from '../options.ts';
import { TestLpa, type DownloadResult, type TestLpaOptions } from './test-lpa.ts';
import { TestSmdp, type MetadataSpec, type TestSmdpOptions, type BoundPackage } from './smdp-binder.ts';
import type { NotificationEvent } from '../../rsp/common.ts';

export const PROFILES_DIR = fileURLToPath(new URL('../../smdp/profiles/', import.meta.url));
export const TS48_FILES: readonly string[] = readdirSync(PROFILES_DIR)
  .filter((f) => f.endsWith('.der'))
  .sort();
export const DEFAULT_PROFILE = 'TS48v2_SAIP2.3_BERTLV.der';
/** ICCID of most TS.48 packages (header = EF.ICCID) */
export const TS48_ICCID = '89000123456789012341';

const cache = new Map<string, Uint8Array>();

/** A TS.48 package by file name. */
export function ts48(name: string = DEFAULT_PROFILE): Uint8Array {
  let b = cache.get(name);
  if (!b) {
    b = new Uint8Array(readFileSync(join(PROFILES_DIR, name)));
    cache.set(name, b);
  }
  return b;
}

/** A valid 20-digit test ICCID number n (89000123450000000nnL). */
export function testIccid(n: number): string {
  const body = `8900012345${String(n).padStart(9, '0')}`;
  return body + String(iccidLuhn(body));
}

/** The default TS.48 package with another ICCID. */
export function profileWithIccid(iccid: string, name: string = DEFAULT_PROFILE): Uint8Array {
  return personaliseProfile(ts48(name), { iccid });
}

export const ALL_EVENTS: NotificationEvent = ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'];
export const NOTIFY_ADDRESS = 'notifications.operator.example.com';

export interface Rig {
  euicc: Euicc;
  lpa: TestLpa;
  smdp: TestSmdp;
}

/** eUICC + opened test LPA + test SM-DP+. */
export async function rig(options: EuiccOptions = {}, lpaOptions: TestLpaOptions = {}, smdpOptions: TestSmdpOptions = {}): Promise<Rig> {
  const euicc = await createEuicc(options);
  const lpa = new TestLpa(euicc, lpaOptions);
  await lpa.open();
  return { euicc, lpa, smdp: new TestSmdp(smdpOptions) };
}

export interface InstallOptions extends Partial<MetadataSpec> {
  readonly upp?: Uint8Array;
  readonly smdp?: TestSmdp;
  readonly replaceSessionKeys?: boolean;
  readonly tamper?: (b: BoundPackage) => Uint8Array;
}

/** Download a profile (default: the TS.48 package with `iccid`) through the APDU path. */
export async function install(r: Rig, iccid: string, o: InstallOptions = {}): Promise<DownloadResult> {
  const upp = o.upp ?? (iccid === TS48_ICCID ? ts48() : profileWithIccid(iccid));
  const metadata: MetadataSpec = {
    iccid,
    profileClass: o.profileClass ?? 2,
    notificationConfigurationInfo: o.notificationConfigurationInfo ?? [{ events: ALL_EVENTS, address: NOTIFY_ADDRESS }],
    ...(o.profileOwner ? { profileOwner: o.profileOwner } : {}),
    ...(o.profilePolicyRules ? { profilePolicyRules: o.profilePolicyRules } : {}),
    ...(o.serviceProviderName ? { serviceProviderName: o.serviceProviderName } : {}),
    ...(o.profileName ? { profileName: o.profileName } : {}),
    ...(o.iconType !== undefined ? { iconType: o.iconType } : {}),
    ...(o.icon ? { icon: o.icon } : {}),
  };
  return r.lpa.download(o.smdp ?? r.smdp, upp, { metadata, ...(o.replaceSessionKeys !== undefined ? { replaceSessionKeys: o.replaceSessionKeys } : {}) }, o.tamper);
}

/** A directory for state files, removed by the returned cleanup. */
export function tempDir(): { dir: string; file: (name?: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-euicc-'));
  return { dir, file: (name = 'euicc.json') => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Decoded pending notification with its signature checked against the eUICC certificate that signed it. */
export interface CheckedNotification {
  readonly kind: 'pir' | 'other';
  readonly metadata: NotificationMetadata;
  readonly signatureValid: boolean;
  readonly pir?: ProfileInstallationResult;
}

/** Verify a PendingNotification's eUICC signature (PIR: with `euiccCertificate`; other: with its own certificate). */
export function checkNotification(der: Uint8Array, euiccCertificate?: Uint8Array): CheckedNotification {
  const n = decode(PendingNotification, der);
  if ('profileInstallationResult' in n) {
    const pir = n.profileInstallationResult;
    if (!euiccCertificate) throw new Error('a PIR carries no certificate: pass the eUICC certificate');
    const cert = parseCert(euiccCertificate);
    const data = derOf(ProfileInstallationResultData, pir.profileInstallationResultData);
    return { kind: 'pir', metadata: pir.profileInstallationResultData.notificationMetadata, signatureValid: ecdsaVerify(cert.curve, cert.publicKey, data, pir.euiccSignPIR), pir };
  }
  const o: OtherSignedNotification = n.otherSignedNotification;
  const cert = parseCert(o.euiccCertificate);
  const tbs = derOf(NotificationMetadata, o.tbsOtherNotification);
  return { kind: 'other', metadata: o.tbsOtherNotification, signatureValid: ecdsaVerify(cert.curve, cert.publicKey, tbs, o.euiccNotificationSignature) };
}

/** The ErrorResult of a PIR, or undefined for a success. */
export function pirError(pirDer: Uint8Array): { bppCommandId: number; errorReason: number } | undefined {
  const fr = decode(ProfileInstallationResult, pirDer).profileInstallationResultData.finalResult;
  return 'errorResult' in fr ? { bppCommandId: fr.errorResult.bppCommandId, errorReason: fr.errorResult.errorReason } : undefined;
}
