// Misbehaviour switches of the test SM-DP+, for negative suites (as SGP.23's simulated
// SM-DP+ deviates on purpose): corrupted signatures (serverSignature1 5.6.1, smdpSignature2
// 5.6.3, smdpSign 5.5.1), a wrong serverAddress, wrong transaction ids, expired DPauth/DPpb/
// DPtls certificates, slow responses, HTTP 500, malformed JSON and a corrupted '86' BPP
// segment (2.5.4). One typed value, settable at start (JSON config) or at run time (control API).
import { SmdpConfigError } from './errors.ts';
import type { ExpirableCert } from './credentials.ts';

export const SMDP_FUNCTIONS = [
  'initiateAuthentication',
  'authenticateClient',
  'getBoundProfilePackage',
  'handleNotification',
  'cancelSession',
  'es11.initiateAuthentication',
  'es11.authenticateClient',
  'downloadOrder',
  'confirmOrder',
  'cancelOrder',
  'releaseProfile',
] as const;
export type SmdpFunction = (typeof SMDP_FUNCTIONS)[number];

export const CORRUPTIBLE_SIGNATURES = ['serverSignature1', 'smdpSignature2', 'smdpSign'] as const;
export type CorruptibleSignature = (typeof CORRUPTIBLE_SIGNATURES)[number];

/** Where a wrong transactionId goes: inside a signed structure, or the JSON `transactionId` of responses. */
export const TRANSACTION_ID_TARGETS = ['serverSigned1', 'smdpSigned2', 'initialiseSecureChannel', 'response'] as const;
export type TransactionIdTarget = (typeof TRANSACTION_ID_TARGETS)[number];

export const EXPIRABLE_CERTS: readonly ExpirableCert[] = ['dpauth', 'dppb', 'dptls'];

export interface Misbehaviour {
  /** flip one bit of these signatures after signing */
  corruptSignatures?: CorruptibleSignature[];
  /** serverAddress put into serverSigned1 instead of the address the LPA used */
  serverAddress?: string;
  /** put a different transactionId (last byte inverted) into these places */
  wrongTransactionId?: TransactionIdTarget[];
  /** present certificates whose validity ended yesterday */
  expiredCertificates?: ExpirableCert[];
  /** wait this long before answering */
  delayMs?: number;
  /** answer HTTP 500 without running the function */
  http500?: boolean;
  /** run the function, then answer 200 with a body that is not JSON */
  malformedJson?: boolean;
  /** flip one byte of the payload of the N-th (0-based) '86' segment of every BPP sent */
  corruptSegment86?: number;
  /** functions delayMs / http500 / malformedJson apply to (default: all) */
  functions?: SmdpFunction[];
}

const KEYS: readonly (keyof Misbehaviour)[] = [
  'corruptSignatures',
  'serverAddress',
  'wrongTransactionId',
  'expiredCertificates',
  'delayMs',
  'http500',
  'malformedJson',
  'corruptSegment86',
  'functions',
];

function listOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T[] {
  if (!Array.isArray(v)) throw new SmdpConfigError(`misbehaviour.${field}: expected an array`);
  for (const x of v) if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) throw new SmdpConfigError(`misbehaviour.${field}: '${String(x)}' is not one of ${allowed.join(', ')}`);
  return [...new Set(v as T[])];
}

function nonNegativeInt(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new SmdpConfigError(`misbehaviour.${field}: expected an integer 0..${max}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new SmdpConfigError(`misbehaviour.${field}: expected true or false`);
  return v;
}

/** Validate a misbehaviour object from JSON (config file, control endpoint). */
export function parseMisbehaviour(json: unknown): Misbehaviour {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SmdpConfigError('misbehaviour: expected a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) throw new SmdpConfigError(`misbehaviour: unknown switch '${k}' (known: ${KEYS.join(', ')})`);
  const m: Misbehaviour = {};
  if (o['corruptSignatures'] !== undefined) m.corruptSignatures = listOf(o['corruptSignatures'], CORRUPTIBLE_SIGNATURES, 'corruptSignatures');
  if (o['serverAddress'] !== undefined) {
    if (typeof o['serverAddress'] !== 'string' || o['serverAddress'] === '') throw new SmdpConfigError('misbehaviour.serverAddress: expected a non-empty string');
    m.serverAddress = o['serverAddress'];
  }
  if (o['wrongTransactionId'] !== undefined) m.wrongTransactionId = listOf(o['wrongTransactionId'], TRANSACTION_ID_TARGETS, 'wrongTransactionId');
  if (o['expiredCertificates'] !== undefined) m.expiredCertificates = listOf(o['expiredCertificates'], EXPIRABLE_CERTS, 'expiredCertificates');
  if (o['delayMs'] !== undefined) m.delayMs = nonNegativeInt(o['delayMs'], 'delayMs', 600_000);
  if (o['http500'] !== undefined) m.http500 = bool(o['http500'], 'http500');
  if (o['malformedJson'] !== undefined) m.malformedJson = bool(o['malformedJson'], 'malformedJson');
  if (o['corruptSegment86'] !== undefined) m.corruptSegment86 = nonNegativeInt(o['corruptSegment86'], 'corruptSegment86', 100_000);
  if (o['functions'] !== undefined) m.functions = listOf(o['functions'], SMDP_FUNCTIONS, 'functions');
  return m;
}

/** True when the HTTP-level switches (delay, 500, malformed JSON) apply to `fn`. */
export function appliesTo(m: Misbehaviour, fn: SmdpFunction): boolean {
  return m.functions === undefined || m.functions.includes(fn);
}

/** A copy with one bit of the last byte flipped (signatures, transaction ids). */
export function flipLastBit(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes); // a copy even for a Buffer (Buffer#slice is a view)
  out[out.length - 1]! ^= 0x01;
  return out;
}

/** A different transactionId of the same length (last byte inverted). */
export function wrongTransactionId(id: Uint8Array): Uint8Array {
  const out = new Uint8Array(id);
  out[out.length - 1]! ^= 0xff;
  return out;
}
