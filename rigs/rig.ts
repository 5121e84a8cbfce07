// Rig definitions, data validated at load: which eUICC (emulated / a real card), which
// modem (fake personality / real serial port), which bridge (built-in / external command
// launched against a PTY / already running at host:port), which SM-DP+ (embedded / URL);
// the capabilities that decide each test case's applicability (SGP.23 applicability
// table: a case whose needs are not met is N/A, not failed), and the observations the
// rig can make, which decide whether a check of a step can be verified on it at all.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LPA_PROFILE, lpaProfileNames } from '../sim/lpa/lpa-profile.ts';

export const RIGS_DIR = dirname(fileURLToPath(import.meta.url));

/** The personality a fake-modem rig runs when it names several and one is needed. */
export const DEFAULT_PERSONALITY = 'quectel-ec25j';

/** The first personality a rig's `modem.personality` names ('all' and lists included). */
export function firstPersonality(spec: string): string {
  const first = spec.split(',')[0]!.trim();
  return first === 'all' ? DEFAULT_PERSONALITY : first;
}

/** What a rig can do; test cases list the capabilities they need. */
export const CAPABILITIES = [
  /** the eUICC is bridgelab's software eUICC (state inspection, fault injection, any identity) */
  'emulatedEuicc',
  /** the modem is a fake modem whose line faults can be switched (URCs, reboot, drops, delays) */
  'modemFaults',
  /** the modem personality can be chosen */
  'modemPersonality',
  /** the bridge process can be stopped/restarted by the rig (bridge loss tests) */
  'bridgeRestart',
  /** the card can be power-cycled/reset by the rig (power loss tests) */
  'cardPowerCycle',
  /** the SM-DP+ is bridgelab's embedded test SM-DP+ (misbehaviour switches, ES2+) */
  'embeddedSmdp',
  /** the eUICC trusts the SGP.26 test CI (test certificates are accepted) */
  'sgp26Trust',
  /** UART timing emulation (throughput measured against the wire-time floor) */
  'uartTiming',
  /**
   * the modem gives access to a card with no enabled profile (the emulated eUICC starts with
   * none); absent for modems that only use a UICC with a usable USIM (personality simRequiresUsim)
   */
  'emptyCardAccess',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * What the rig can see besides what the LPA gets. A check that needs an observation the rig
 * cannot make proves nothing on that rig: its step is 'not verifiable' (suites/framework/
 * case.ts), never a comparison with empty data.
 */
export const OBSERVATIONS = {
  /** the APDUs the card received and answered on the modem-card hop (tapped in front of the emulated eUICC) */
  cardSide: 'the card side of the modem hop (APDUs the card received)',
  /** the card's own state: profiles, notifications, open channels, memory, ISD-R calls */
  cardState: "the card's internal state",
  /** the EID the card holds, known to the rig (emulated card, or `euicc.eid` of a card rig) */
  cardEid: 'the EID the card holds',
  /** the AT lines between the bridge and the modem (tapped inside the fake modem) */
  atLines: 'the AT lines between the bridge and the modem',
  /** the modem's own state: its open +CCHO sessions */
  modemState: "the modem's internal state",
} as const;
export type Observation = keyof typeof OBSERVATIONS;

/** Where each observation comes from, for a reason a user can act on. */
const OBSERVED_BY: Record<Observation, string> = {
  cardSide: 'the emulated eUICC',
  cardState: 'the emulated eUICC',
  cardEid: "the emulated eUICC or the card's EID in the rig file (euicc.eid)",
  atLines: 'a fake modem',
  modemState: 'a fake modem',
};

/** Why `observation` is missing on a rig that lacks it (one phrase). */
export function missingObservation(observation: Observation): string {
  return `${OBSERVATIONS[observation]} can be observed only with ${OBSERVED_BY[observation]}`;
}

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'expected host:port')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port above 65535');

const euicc = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('emulated'),
      identity: z.enum(['nist', 'brp', 'both', 'fresh']).default('both'),
      svn: z.enum(['2.2.2', '2.3.0', '2.5.0']).default('2.5.0'),
      freeNvmBytes: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('card'),
      description: z.string().optional(),
      /** the card's EID (SGP.29: 32 digits), so that answers carrying it can be checked exactly */
      eid: z.string().regex(/^\d{32}$/, '32 decimal digits').optional(),
    })
    .strict(),
]);

const modem = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('fake'),
      /** a personality, a comma-separated list, or 'all': certify runs one pass for each */
      personality: z.string().min(1).default(DEFAULT_PERSONALITY),
      endpoint: z.enum(['mock', 'pty']).default('pty'),
      /** emulate UART timing at this baud rate (omit for unthrottled) */
      baud: z.number().int().positive().optional(),
      /** scale of the personality's latencies and restart times (1 = as characterised; smaller = faster runs) */
      timeScale: z.number().min(0).max(10).default(1),
    })
    .strict(),
  z.object({ kind: z.literal('serial'), path: z.string().min(1), baud: z.number().int().positive().default(115200), personality: z.string().optional() }).strict(),
]);

const bridge = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('builtin') }).strict(),
  z
    .object({
      kind: z.literal('external'),
      /** command template; {tty}, {baud}, {port} and {host} are substituted */
      command: z.string().min(1).refine((s) => s.includes('{tty}'), 'the command template must contain {tty}'),
      /** how the LPA reaches it: the bridge listens on {port}, or connects out to the test LPA */
      lpaLink: z.enum(['bridge-listens', 'bridge-connects']).default('bridge-listens'),
      startupTimeoutMs: z.number().int().positive().default(10_000),
      cwd: z.string().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('running'), address: hostPort, lpaLink: z.enum(['bridge-listens', 'bridge-connects']).default('bridge-listens') }).strict(),
]);

const smdp = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('embedded'),
      /** address the SM-DP+ binds to (0.0.0.0 on real rigs so the LPA host can reach it) */
      bind: z.string().default('127.0.0.1'),
      hostname: z.string().default('testsmdpplus1.example.com'),
    })
    .strict(),
  z.object({ kind: z.literal('url'), url: z.string().url(), caFile: z.string().optional() }).strict(),
]);

export const RigSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    description: z.string().default(''),
    euicc,
    modem,
    bridge,
    smdp,
    lpa: z
      .object({
        psk: z.object({ identity: z.string().min(1), keyHex: z.string().regex(/^([0-9a-fA-F]{2}){16,64}$/, '16-64 bytes of hex') }).strict().optional(),
        storeDataBlockSize: z.number().int().min(16).max(255).default(120),
        /** LPA behaviour profile (sim/lpa/profiles): what the suites' LPA does and tolerates; default a strict PC/SC LPA */
        profile: z.string().refine((p) => lpaProfileNames().includes(p), { message: `unknown LPA profile; known: ${lpaProfileNames().join(', ')}` }).default(DEFAULT_LPA_PROFILE),
        /** how the LPA reaches the bridge: 'vpcd' directly, or 'pcsc' through pcscd's vpcd driver (sim/lpa/pcsc-path.ts) */
        path: z.enum(['vpcd', 'pcsc']).default('vpcd'),
      })
      .strict()
      .default({ storeDataBlockSize: 120, profile: DEFAULT_LPA_PROFILE, path: 'vpcd' }),
    /** capabilities the rig declares on top of those derived from its parts (rarely needed) */
    extraCapabilities: z.array(z.enum(CAPABILITIES)).default([]),
    /** capabilities removed (e.g. a real card that does not trust the SGP.26 CI) */
    withoutCapabilities: z.array(z.enum(CAPABILITIES)).default([]),
  })
  .strict();

export type Rig = z.infer<typeof RigSchema>;

export class RigError extends Error {
  override readonly name = 'RigError';
}

/** Capabilities that follow from the parts of a rig. */
export function capabilitiesOf(rig: Rig): Set<Capability> {
  const caps = new Set<Capability>(rig.extraCapabilities).add('emptyCardAccess');
  if (rig.euicc.kind === 'emulated') caps.add('emulatedEuicc').add('cardPowerCycle').add('sgp26Trust');
  else caps.add('sgp26Trust'); // test card eUICCs list the SGP.26 CI; remove with withoutCapabilities
  if (rig.modem.kind === 'fake') {
    caps.add('modemFaults').add('modemPersonality');
    if (rig.modem.baud) caps.add('uartTiming');
  }
  if (rig.bridge.kind !== 'running') caps.add('bridgeRestart');
  if (rig.smdp.kind === 'embedded') caps.add('embeddedSmdp');
  for (const c of rig.withoutCapabilities) caps.delete(c);
  return caps;
}

/** Observations that follow from the parts of a rig: the taps exist only on simulated parts. */
export function observationsOf(rig: Rig): Set<Observation> {
  const seen = new Set<Observation>();
  if (rig.euicc.kind === 'emulated') seen.add('cardSide').add('cardState').add('cardEid');
  else if (rig.euicc.eid) seen.add('cardEid');
  if (rig.modem.kind === 'fake') seen.add('atLines').add('modemState');
  return seen;
}

function describeIssues(source: string, error: z.ZodError): string {
  return error.issues
    .map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('\n');
}

/** Validate a parsed rig object; throws RigError naming the file, field and problem. */
export function parseRig(value: unknown, source = 'rig'): Rig {
  const r = RigSchema.safeParse(value);
  if (!r.success) throw new RigError(describeIssues(source, r.error));
  return r.data;
}

/** Built-in rig names (rigs/*.json). */
export function builtinRigs(): string[] {
  return readdirSync(RIGS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Load a rig by built-in name or by file path. */
export function loadRig(nameOrFile: string): Rig {
  const file = existsSync(nameOrFile) ? nameOrFile : join(RIGS_DIR, `${nameOrFile}.json`);
  if (!existsSync(file)) throw new RigError(`no rig '${nameOrFile}': not a file, and not one of ${builtinRigs().join(', ')}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseRig(json, file);
}
