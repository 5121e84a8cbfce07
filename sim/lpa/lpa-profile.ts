// LPA behaviour profiles: what a real LPA does on the reader link and what it tolerates
// (SGP.22 5.7 ES10 over ISO/IEC 7816-4 APDUs; ETSI TS 102 221 for MANAGE CHANNEL,
// TERMINAL CAPABILITY and GET RESPONSE; ISO/IEC 7816-3 for the T=0 procedure bytes),
// kept as data in profiles/*.json and validated here. Every fact of a profile names
// its public source in `sources` (an open-source LPA's code, a specification section):
// a profile is a model of a real LPA, and the model must say where it comes from.
// es10OptionsOf() turns a profile into the ES10 driver's options; pcscOptionsOf() into
// the PC/SC connect options (pcsc-transport.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Es10Options } from './es10.ts';
import type { PcscConnectOptions } from './pcsc-transport.ts';

export const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'profiles');

/** The profile the suites' LPA uses unless the rig names another: a strict PC/SC LPA. */
export const DEFAULT_LPA_PROFILE = 'lpac-pcsc';

const FACTS = ['connect', 'receiveBuffer', 'terminalCapability', 'manageChannel', 'selectLe', 'getResponseClass', 'storeDataBlockSize', 'lastBlockLe', 'on61xx', 'on6Cxx', 'timeouts'] as const;

const hexApdu = z.string().regex(/^([0-9A-Fa-f]{2}){5,261}$/, 'a C-APDU in hex');

export const LpaProfileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    description: z.string().min(1),
    /** a strict profile models a real LPA (what the bridge must satisfy); lenient is bridgelab's own */
    strict: z.boolean(),
    connect: z.object({ protocols: z.enum(['T=0', 'T=1', 'T=0,T=1']), share: z.enum(['exclusive', 'shared']) }).strict(),
    /** bytes of the receive buffer given to SCardTransmit: the longest R-APDU (data + SW) it takes */
    receiveBuffer: z.number().int().min(258).max(65538),
    /** TERMINAL CAPABILITY sent once at connect (its answer ignored), or null */
    terminalCapability: hexApdu.nullable(),
    /** open a logical channel with MANAGE CHANNEL (else SELECT on the basic channel) */
    manageChannel: z.boolean(),
    /** SELECT with Le 00 (case 4) or without (case 3) */
    selectLe: z.boolean(),
    getResponseClass: z.enum(['00', '80']),
    storeDataBlockSize: z.number().int().min(1).max(255),
    /** Le 00 on the last STORE DATA block */
    lastBlockLe: z.boolean(),
    on61xx: z.literal('get-response'),
    /** 6Cxx: re-send with Le = SW2, or fail the command */
    on6Cxx: z.enum(['resend', 'fail']),
    timeouts: z.object({ apduMs: z.number().int().positive() }).strict(),
    sources: z.record(z.string(), z.array(z.string().min(10)).min(1)),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const fact of FACTS) if (!p.sources[fact]) ctx.addIssue({ code: 'custom', path: ['sources', fact], message: `no public source for ${fact}` });
    for (const key of Object.keys(p.sources)) if (!(FACTS as readonly string[]).includes(key)) ctx.addIssue({ code: 'custom', path: ['sources', key], message: `not a fact of the profile (${FACTS.join(', ')})` });
  });

export type LpaProfile = z.infer<typeof LpaProfileSchema>;

export class LpaProfileError extends Error {
  override readonly name = 'LpaProfileError';
}

/** Validate a parsed profile; the error names the source, the field and the problem. */
export function parseLpaProfile(value: unknown, source = 'LPA profile'): LpaProfile {
  const r = LpaProfileSchema.safeParse(value);
  if (!r.success) throw new LpaProfileError(r.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('\n'));
  return r.data;
}

/** Names of the bundled profiles. */
export function lpaProfileNames(): string[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

const cache = new Map<string, LpaProfile>();

/** A bundled profile by name, or a profile file by path. */
export function loadLpaProfile(nameOrFile: string): LpaProfile {
  const hit = cache.get(nameOrFile);
  if (hit) return hit;
  const file = nameOrFile.endsWith('.json') && existsSync(nameOrFile) ? nameOrFile : join(PROFILES_DIR, `${nameOrFile}.json`);
  if (!existsSync(file)) throw new LpaProfileError(`no LPA profile '${nameOrFile}': not a file, and not one of ${lpaProfileNames().join(', ')}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LpaProfileError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const profile = parseLpaProfile(json, file);
  cache.set(nameOrFile, profile);
  return profile;
}

/** The ES10 driver options that make the test LPA behave like `profile`. */
export function es10OptionsOf(profile: LpaProfile): Es10Options {
  return {
    channel: profile.manageChannel ? 'logical' : 'basic',
    blockSize: profile.storeDataBlockSize,
    getResponseClass: profile.getResponseClass === '80' ? 0x80 : 0x00,
    leOnLast: profile.lastBlockLe,
    selectLe: profile.selectLe,
    receiveBuffer: profile.receiveBuffer,
    on6Cxx: profile.on6Cxx,
    ...(profile.terminalCapability ? { terminalCapability: profile.terminalCapability } : {}),
  };
}

/** How the profile's LPA connects to a PC/SC reader. */
export function pcscOptionsOf(profile: LpaProfile): PcscConnectOptions {
  return { protocols: profile.connect.protocols, share: profile.connect.share, receiveBuffer: profile.receiveBuffer };
}
