// Non-volatile state of the software eUICC (SGP.22 2.4 eUICC architecture, 5.7
// ES10 functions): installed profiles with their metadata (5.5.3 StoreMetadata),
// pending notifications with their sequence numbers (3.5, 5.7.9-5.7.11), configured
// addresses (5.7.3-5.7.4), counters, the identity of a freshly issued eUICC, and the
// "BPP in progress" marker that turns a crash during ES10b.LoadBoundProfilePackage
// (2.5.5, 5.7.6) into an installFailedDueToInterruption result after a restart.

// It is written as one JSON document through an atomic file replace after every
// change, so a process killed at any point restarts from either the state before or
// after a command, never from a half-written one. Profile content (the SAIP package
// with its Ki/OPc) and a fresh identity's private key are card NVM: they live in this
// file, which is created with mode 0600; nothing in here is ever logged.
//
// Nothing in the file is trusted: it is read back through a schema (every field typed)
// with the invariants of SGP.22 (2.4: at most one enabled profile; 3.1.6/5.7: ICCIDs and
// ISD-P AIDs unique, AIDs never reused; 3.5: notification sequence numbers unique and not
// above the last one used), and version 2 files carry a SHA-256 of their content, so a
// truncated, zeroed, bit-flipped or inconsistent file is a StateFileError naming the file,
// never a TypeError later. A marker next to it (<file>.marker) records that a card lives
// there: a state file deleted under its marker is an error too, not a new empty card.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../store/atomic-file.ts';
import type { PersistedIdentity } from './identity.ts';

export type ProfileClass = 'test' | 'provisioning' | 'operational';
export type NotificationKind = 'install' | 'enable' | 'disable' | 'delete';
export type PprName = 'pprUpdateControl' | 'ppr1' | 'ppr2';

export const PROFILE_CLASS_VALUES: Record<ProfileClass, number> = { test: 0, provisioning: 1, operational: 2 };
export const NOTIFICATION_KINDS: readonly NotificationKind[] = ['install', 'enable', 'disable', 'delete'];

export function profileClassOf(n: number): ProfileClass | undefined {
  return (Object.keys(PROFILE_CLASS_VALUES) as ProfileClass[]).find((k) => PROFILE_CLASS_VALUES[k] === n);
}

/** ISD-P AIDs (5.7: allocated by index, never reused): prefix + (0x1000 + (index - 1) * 0x100) as 8 hex digits. */
export const ISDP_AID_PREFIX = 'A0000005591010FFFFFFFF89';

export function isdpAidFor(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 0xf000) throw new RangeError(`ISD-P index ${index} out of range`);
  return ISDP_AID_PREFIX + (0x1000 + (index - 1) * 0x100).toString(16).toUpperCase().padStart(8, '0').slice(-8);
}

/** The allocation index of an ISD-P AID, or undefined for an AID this eUICC does not allocate. */
export function isdpIndexOf(aid: string): number | undefined {
  if (!aid.startsWith(ISDP_AID_PREFIX)) return undefined;
  const n = Number.parseInt(aid.slice(ISDP_AID_PREFIX.length), 16) - 0x1000;
  return n >= 0 && n % 0x100 === 0 ? n / 0x100 + 1 : undefined;
}

const hex = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected hex');
const text = z.string().max(1024);
const iccid = z.string().regex(/^\d{18,20}$/, 'expected 18-20 digits');
/** an OBJECT IDENTIFIER in dotted form, as ProfileInfo and notifications encode it (ITU-T X.690 8.19) */
const oid = z.string().max(256).regex(/^[0-2](\.\d{1,20}){1,30}$/, 'expected a dotted OBJECT IDENTIFIER');
const curve = z.enum(['P-256', 'brainpoolP256r1']);
const kind = z.enum(['install', 'enable', 'disable', 'delete']);

const NotificationConfigSchema = z.strictObject({
  /** events the profile wants notified */
  events: z.array(kind),
  address: text,
});

const StoredProfileSchema = z.strictObject({
  /** ICCID digits */
  iccid,
  /** ISD-P AID, upper-case hex */
  isdpAid: z.string().regex(/^[0-9A-F]{32}$/, 'expected 16 bytes of uppercase hex'),
  enabled: z.boolean(),
  nickname: z.string().max(64).optional(),
  serviceProviderName: text,
  profileName: text,
  iconType: z.number().int().min(0).max(255).optional(),
  /** hex */
  icon: hex.optional(),
  profileClass: z.enum(['test', 'provisioning', 'operational']),
  notificationConfiguration: z.array(NotificationConfigSchema),
  /** hex of the OperatorId fields */
  profileOwner: z.strictObject({ mccMnc: hex, gid1: hex.optional(), gid2: hex.optional() }).optional(),
  /** dpOid of ConfigureISDP's dpProprietaryData */
  dpOid: oid.optional(),
  policyRules: z.array(z.enum(['pprUpdateControl', 'ppr1', 'ppr2'])),
  /** hex DER of serviceSpecificDataStoredInEuicc (the BF22 element), if any */
  serviceSpecificData: hex.optional(),
  /** hex DER of the StoreMetadata request (BF25) as received */
  metadataDer: hex,
  /** SM-DP+ address and OID (CERT.DPpb) of the download */
  smdpAddress: text,
  smdpOid: oid,
  /** curve of the eUICC identity used for the download (signs this profile's notifications) */
  identityCurve: curve,
  /** unprotected profile package (SAIP), hex */
  upp: hex,
  /** bytes of NVM the profile consumes */
  size: z.number().int().nonnegative(),
  /** from the SAIP package */
  profileType: text.optional(),
  imsi: z.string().regex(/^\d{5,15}$/).optional(),
  /** ADF.USIM AID, upper-case hex */
  usimAid: hex.optional(),
  /** ISO time of installation */
  installedAt: z.iso.datetime(),
});

const StoredNotificationSchema = z.strictObject({
  seqNumber: z.number().int().positive(),
  kind,
  iccid: iccid.optional(),
  address: text,
  /** hex DER of the PendingNotification (ProfileInstallationResult BF37 or OtherSignedNotification 30) */
  pendingNotification: hex,
});

/** Written when an ISCR is accepted, cleared when the BPP ends (installed, failed or interrupted). */
const BppMarkerSchema = z.strictObject({
  /** hex */
  transactionId: hex,
  smdpAddress: text,
  /** OID of CERT.DPpb */
  smdpOid: oid,
  identityCurve: curve,
  /** BppCommandId the eUICC was processing or expecting */
  bppCommandId: z.number().int().min(0).max(127),
  /** ICCID digits once StoreMetadata was processed */
  iccid: iccid.optional(),
  startedAt: z.iso.datetime(),
});

const PersistedIdentitySchema: z.ZodType<PersistedIdentity> = z.strictObject({
  curve,
  certificate: hex,
  eumCertificate: hex,
  privateKey: z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of hex'),
});

const StateFields = {
  /** the EID this state belongs to */
  eid: z.string().regex(/^\d{32}$/, 'expected 32 digits'),
  profiles: z.array(StoredProfileSchema),
  notifications: z.array(StoredNotificationSchema),
  /** last notification sequence number used (SGP.22: monotonically increasing, never reused) */
  lastSeqNumber: z.number().int().nonnegative(),
  /** next ISD-P index for AID allocation (never reused) */
  nextIsdpIndex: z.number().int().positive(),
  defaultDpAddress: text.optional(),
  rootDsAddress: text,
  bppInProgress: BppMarkerSchema.optional(),
  /** identities of a freshly issued eUICC (absent for the SGP.26 identities) */
  freshIdentities: z.array(PersistedIdentitySchema).optional(),
};

/** The SGP.22 invariants the eUICC relies on. */
function checkInvariants(st: { profiles: { iccid: string; isdpAid: string; enabled: boolean }[]; notifications: { seqNumber: number }[]; lastSeqNumber: number; nextIsdpIndex: number }, ctx: z.RefinementCtx): void {
  const enabled = st.profiles.filter((p) => p.enabled);
  if (enabled.length > 1) ctx.addIssue({ code: 'custom', path: ['profiles'], message: `${enabled.length} profiles enabled (${enabled.map((p) => p.iccid).join(', ')}); at most one may be` });
  const dup = (values: string[]): string | undefined => values.find((v, i) => values.indexOf(v) !== i);
  const iccidDup = dup(st.profiles.map((p) => p.iccid));
  if (iccidDup) ctx.addIssue({ code: 'custom', path: ['profiles'], message: `ICCID ${iccidDup} appears twice` });
  const aidDup = dup(st.profiles.map((p) => p.isdpAid));
  if (aidDup) ctx.addIssue({ code: 'custom', path: ['profiles'], message: `ISD-P AID ${aidDup} appears twice` });
  st.profiles.forEach((p, i) => {
    const index = isdpIndexOf(p.isdpAid);
    if (index === undefined || index >= st.nextIsdpIndex)
      ctx.addIssue({ code: 'custom', path: ['profiles', i, 'isdpAid'], message: `${p.isdpAid} is not an ISD-P AID allocated below nextIsdpIndex ${st.nextIsdpIndex}` });
  });
  const seqDup = dup(st.notifications.map((n) => String(n.seqNumber)));
  if (seqDup) ctx.addIssue({ code: 'custom', path: ['notifications'], message: `sequence number ${seqDup} appears twice` });
  const above = st.notifications.find((n) => n.seqNumber > st.lastSeqNumber);
  if (above) ctx.addIssue({ code: 'custom', path: ['notifications'], message: `sequence number ${above.seqNumber} is above lastSeqNumber ${st.lastSeqNumber}` });
}

const StateV2Schema = z.strictObject({ version: z.literal(2), ...StateFields }).superRefine(checkInvariants);
/** files of the earlier format (no integrity digest) are read and written back as version 2 */
const StateV1Schema = z.strictObject({ version: z.literal(1), ...StateFields }).superRefine(checkInvariants);

export type NotificationConfig = z.infer<typeof NotificationConfigSchema>;
export type StoredProfile = z.infer<typeof StoredProfileSchema>;
export type StoredNotification = z.infer<typeof StoredNotificationSchema>;
export type BppMarker = z.infer<typeof BppMarkerSchema>;
export type EuiccState = z.infer<typeof StateV2Schema>;

export function initialState(eid: string, rootDsAddress: string, defaultDpAddress?: string): EuiccState {
  return {
    version: 2,
    eid,
    profiles: [],
    notifications: [],
    lastSeqNumber: 0,
    nextIsdpIndex: 1,
    rootDsAddress,
    ...(defaultDpAddress ? { defaultDpAddress } : {}),
  };
}

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

const MarkerSchema = z.strictObject({ format: z.literal('bridgelab-euicc-state'), eid: z.string().regex(/^\d{32}$/), createdAt: z.iso.datetime() });

function digest(body: string): string {
  return `sha256:${createHash('sha256').update(body, 'utf8').digest('hex')}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where the state lives. `path === undefined` keeps it in memory only (unit tests
 * that do not test persistence); every real run passes a file.
 */
export class StateStore {
  /** the loaded file is of version 1 or has no marker yet: the next save writes both */
  upgradeDue = false;

  constructor(readonly path: string | undefined) {}

  /** <file>.marker: written with the first state, says which EID keeps its state in the file */
  get markerPath(): string | undefined {
    return this.path === undefined ? undefined : `${this.path}.marker`;
  }

  /** true when a state file exists */
  exists(): boolean {
    return this.path !== undefined && existsSync(this.path);
  }

  /** One line; `problem` never quotes the file (it holds profile keys and the identity key). */
  #fail(problem: string, advice = `restore it from a backup, or delete it and ${this.markerPath} to start an empty eUICC`): never {
    const line = problem.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
    throw new StateFileError(`eUICC state file ${this.path}: ${line.length > 300 ? `${line.slice(0, 300)}...` : line}; ${advice}`);
  }

  #marker(): z.infer<typeof MarkerSchema> | undefined {
    const m = this.markerPath;
    if (!m || !existsSync(m)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(m, 'utf8'));
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      json = undefined;
    }
    const r = MarkerSchema.safeParse(json);
    if (!r.success) throw new StateFileError(`eUICC state marker ${m}: damaged (not a bridgelab-euicc-state marker); restore it, or delete it if ${this.path} is the card you want`);
    return r.data;
  }

  /**
   * The stored state, or undefined when there is none yet (no file and no marker). Damage,
   * a file deleted under its marker, or content that breaks the SGP.22 invariants is a
   * StateFileError naming the file.
   */
  load(): EuiccState | undefined {
    if (!this.path) return undefined;
    const marker = this.#marker();
    if (!existsSync(this.path)) {
      if (marker) this.#fail(`missing, but ${this.markerPath} records the eUICC ${marker.eid} kept its profiles there`, `restore the file, or delete ${this.markerPath} to start an empty eUICC`);
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      // the parser's message quotes the text around the error: not repeated here
      this.#fail('not valid JSON: truncated or damaged');
    }
    if (!isObject(parsed)) this.#fail('not a JSON object');
    let state: EuiccState;
    if (parsed.version === 2) {
      const { integrity, ...rest } = parsed;
      if (typeof integrity !== 'string') this.#fail('has no integrity digest (damaged)');
      if (digest(JSON.stringify(rest)) !== integrity) this.#fail('content does not match its integrity digest (damaged: truncated, bit flips or an edit)');
      state = this.#validate(StateV2Schema, rest);
    } else if (parsed.version === 1) state = { ...this.#validate(StateV1Schema, parsed), version: 2 };
    else this.#fail(`unknown format version ${JSON.stringify(parsed.version) ?? 'none'} (expected 2, or 1 of earlier releases)`);
    if (marker && marker.eid !== state.eid) this.#fail(`holds EID ${state.eid}, but ${this.markerPath} says EID ${marker.eid} lives here`);
    this.upgradeDue = parsed.version !== 2 || !marker;
    return state;
  }

  #validate<T>(schema: z.ZodType<T>, value: unknown): T {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const i = r.error.issues[0]!;
    this.#fail(`${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message} (${r.error.issues.length} problem(s))`);
  }

  save(state: EuiccState): void {
    if (!this.path) return;
    const body = { ...state, version: 2 as const };
    writeFileAtomic(this.path, JSON.stringify({ ...body, integrity: digest(JSON.stringify(body)) }, null, 1));
    const m = this.markerPath!;
    if (!existsSync(m)) writeFileAtomic(m, `${JSON.stringify({ format: 'bridgelab-euicc-state', eid: state.eid, createdAt: new Date().toISOString() })}\n`);
  }
}
