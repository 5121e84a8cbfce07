// Records of the SM-DP+ database as zod schemas (the TypeScript types are inferred from
// them): the inventory entry (SGP.22 3.1.6), the ES2+ order (5.3.1-5.3.4) with its BPP
// binding (2.5.4), the RSP session (3.1.3, 5.6), the received notification (5.6.4), the
// SM-DS event (5.9.1) and the per-data-dir meta record. Every record read from disk at
// start is checked against these (db.ts), so a damaged or inconsistent database is refused
// with the table, key and field instead of failing later inside a request.
import { z } from 'zod';
import { PROFILE_STATES } from './inventory-state.ts';
import { MetadataOverridesSchema, NOTIFICATION_OPERATIONS, type NotificationOperation } from './metadata.ts';

const time = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();
const hex = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected hex');
const upperHexId = z.string().regex(/^(?:[0-9A-F]{2}){1,16}$/, 'expected 1..16 bytes of uppercase hex');
const iccid = z.string().regex(/^\d{19,20}$/, 'expected 19-20 digits');
const eid = z.string().regex(/^\d{32}$/, 'expected 32 digits');
const shortText = z.string().max(1024);

export const NOTIFICATION_REJECTIONS = ['unknownTransaction', 'badSignature', 'badCertificate', 'wrongState', 'iccidMismatch', 'notOrderOwner', 'unknownProfile'] as const;

const operation = z.enum(NOTIFICATION_OPERATIONS);

export const ProfileHistoryEntrySchema = z.strictObject({ state: z.enum(PROFILE_STATES), at: time, event: z.string().max(64) });

/** One inventory entry: a personalised copy of a template UPP (SGP.22 3.1.6). */
export const ProfileRecordSchema = z.strictObject({
  iccid,
  imsi: z.string().regex(/^\d{6,15}$/),
  /** template file name without .der (sim/smdp/profiles) */
  template: z.string().min(1).max(255),
  /** ES2+ profileType (the template name unless configured) */
  profileType: z.string().max(255),
  state: z.enum(PROFILE_STATES),
  /** the order currently holding this profile */
  orderId: z.string().optional(),
  metadata: MetadataOverridesSchema,
  createdAt: time,
  updatedAt: time,
  history: z.array(ProfileHistoryEntrySchema).max(1000),
});

/** The binding of an order's BPP (SGP.22 2.5.4), kept for retries with the same otPK.EUICC. */
export const BindingRecordSchema = z.strictObject({
  euiccOtpk: hex,
  smdpOtpk: hex,
  hostId: hex,
  /** transactionId (hex) of the session that bound it */
  transactionId: upperHexId,
  /** key of the protected segments (everything after the ISCR) in the blob table */
  segmentsKey: z.string().min(1),
  replaceSessionKeys: z.boolean(),
  segmentCount86: count,
});

/** An ES2+ download order (5.3.1 DownloadOrder .. 5.3.4 CancelOrder). */
export const OrderRecordSchema = z.strictObject({
  orderId: z.string().min(1).max(64),
  iccid,
  eid: eid.optional(),
  matchingId: z.string().max(255).optional(),
  /** SHA-256 of the confirmation code bytes (hex); the code itself is never stored */
  ccHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  smdsAddress: shortText.optional(),
  /** the ES2+ client that placed it (its certificate's name); absent for in-process orders */
  functionRequesterIdentifier: shortText.optional(),
  createdAt: time,
  expiresAt: time,
  ccAttempts: count,
  downloadAttempts: count,
  /** no longer holds its profile (cancelled, or the profile reached a final state) */
  closed: z.boolean(),
  /** when it was closed (retention) */
  closedAt: time.optional(),
  binding: BindingRecordSchema.optional(),
  /** SM-DS event registered for it (ES12.RegisterEvent) */
  eventId: z.string().max(255).optional(),
});

/** A received ES9+.HandleNotification (5.6.4). Rejected ones are kept without their bytes. */
export const NotificationRecordSchema = z.strictObject({
  seq: z.number().int().positive(),
  receivedAt: time,
  kind: z.enum(['profileInstallationResult', 'otherSignedNotification']),
  accepted: z.boolean(),
  rejection: z.enum(NOTIFICATION_REJECTIONS).optional(),
  detail: shortText.optional(),
  operations: z.array(operation),
  transactionId: upperHexId.optional(),
  iccid: iccid.optional(),
  eid: eid.optional(),
  /** PIR final result */
  result: z.enum(['success', 'error']).optional(),
  bppCommandId: count.optional(),
  errorReason: count.optional(),
  /** the pendingNotification as received (base64), for accepted notifications up to MAX_STORED_NOTIFICATION bytes */
  raw: z.string().optional(),
  /** size and SHA-256 (hex) of what was received (absent in records of earlier versions) */
  rawBytes: count.optional(),
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

/** An event record of the embedded SM-DS (ES12.RegisterEvent, 5.9.1). */
export const EventRecordSchema = z.strictObject({
  eventId: z.string().min(1).max(255),
  eid,
  rspServerAddress: shortText,
  orderId: z.string().min(1),
  createdAt: time,
});

export const MetaRecordSchema = z.strictObject({
  schema: z.literal(1),
  /** random digits that make this data dir's ICCIDs/IMSIs differ from another's */
  batch: z.string().regex(/^\d{4}$/),
  nextSerial: z.number().int().positive(),
  nextNotification: z.number().int().positive(),
  createdAt: time,
  /** rejected handleNotification requests by reason (counted; their bytes are not kept) */
  rejectedNotifications: z.partialRecord(z.enum(NOTIFICATION_REJECTIONS), count).optional(),
  /** records removed by the retention rule, by table */
  removed: z.partialRecord(z.enum(['sessions', 'notifications', 'orders']), count).optional(),
});

/**
 * authInitiated: after InitiateAuthentication (serverChallenge issued); clientAuthenticated:
 * after AuthenticateClient (eUICC authenticated, order selected, smdpSigned2 issued);
 * bppDelivered: after GetBoundProfilePackage (may be fetched again in the same session);
 * completed: ProfileInstallationResult received (ES9+) or events delivered (ES11);
 * cancelled: CancelSession received; failed: a function failed, only CancelSession is
 * still accepted.
 */
export const SESSION_STATES = ['authInitiated', 'clientAuthenticated', 'bppDelivered', 'completed', 'cancelled', 'failed'] as const;

/** Persisted RSP session (hex strings for bytes; no private key is ever stored here). */
export const SessionRecordSchema = z.strictObject({
  /** uppercase hex */
  transactionId: upperHexId,
  kind: z.enum(['es9', 'es11']),
  state: z.enum(SESSION_STATES),
  createdAt: time,
  updatedAt: time,
  /** curve of the CI / DPauth / DPpb / ECKA keys chosen for this session */
  curve: z.enum(['P-256', 'brainpoolP256r1']),
  /** CI key id (lowercase hex) the eUICC verifies our certificates with (euiccCiPKIdToBeUsed) */
  ciKeyId: hex,
  /** euiccCiPKIdListForSigning (lowercase hex): CIs the eUICC's certificate may chain to */
  signingCiKeyIds: z.array(hex).max(64),
  euiccChallenge: hex,
  serverChallenge: hex,
  /** serverAddress as put in serverSigned1 */
  serverAddress: shortText,
  /** network address of the client that opened the session (InitiateAuthentication) */
  clientAddress: z.string().max(64).optional(),
  eid: eid.optional(),
  /** DER of the eUICC certificate (hex) once authenticated */
  euiccCertificate: hex.optional(),
  orderId: z.string().optional(),
  iccid: iccid.optional(),
  /** DER of smdpSigned2 (hex) and the raw smdpSignature2 (hex) */
  smdpSigned2: hex.optional(),
  smdpSignature2: hex.optional(),
  ccRequired: z.boolean().optional(),
  /** otPK.EUICC.ECKA offered for reuse in smdpSigned2 (hex) */
  bppEuiccOtpk: hex.optional(),
  /** otPK.EUICC.ECKA the BPP of this session is bound to (hex) */
  euiccOtpk: hex.optional(),
  /** key of this session's BPP in the blob table */
  bppKey: z.string().optional(),
  failure: z.strictObject({ subjectCode: z.string().max(16), reasonCode: z.string().max(16), message: z.string().max(1024) }).optional(),
  cancelReason: count.optional(),
});

export type ProfileHistoryEntry = z.infer<typeof ProfileHistoryEntrySchema>;
export type ProfileRecord = z.infer<typeof ProfileRecordSchema>;
export type BindingRecord = z.infer<typeof BindingRecordSchema>;
export type OrderRecord = z.infer<typeof OrderRecordSchema>;
export type NotificationRecord = z.infer<typeof NotificationRecordSchema>;
export type { NotificationOperation };
export type NotificationRejection = (typeof NOTIFICATION_REJECTIONS)[number];
export type EventRecord = z.infer<typeof EventRecordSchema>;
export type MetaRecord = z.infer<typeof MetaRecordSchema>;
export type SessionRecord = z.infer<typeof SessionRecordSchema>;
export type SessionState = SessionRecord['state'];
export type SessionKind = SessionRecord['kind'];
