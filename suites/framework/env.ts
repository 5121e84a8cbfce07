// What a suite worker knows about the run it belongs to: the rig (already
// validated by `bridgelab certify`), its capabilities, the modem personality of
// this pass and where evidence goes. certify passes these through environment
// variables to the vitest workers; running a suite file directly with vitest
// falls back to the built-in virtual rig and a temporary report directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPersonality } from '../../sim/modem/personality.ts';
import { capabilitiesOf, firstPersonality, loadRig, observationsOf, type Capability, type Observation, type Rig } from '../../rigs/rig.ts';

export const ENV = {
  rigFile: 'BRIDGELAB_RIG_FILE',
  personality: 'BRIDGELAB_PERSONALITY',
  reportDir: 'BRIDGELAB_REPORT_DIR',
} as const;

export interface SuiteEnv {
  rig: Rig;
  capabilities: ReadonlySet<Capability>;
  /** what the rig can see besides the LPA's side (observationsOf) */
  observations: ReadonlySet<Observation>;
  personality: string;
  reportDir: string;
}

let cached: SuiteEnv | undefined;

/** The environment of a run of `rig`: its capabilities and observations follow from its parts. */
export function envFor(rig: Rig, personality: string, reportDir: string): SuiteEnv {
  const capabilities = capabilitiesOf(rig);
  if (rig.modem.kind === 'fake' && loadPersonality(personality).simRequiresUsim) capabilities.delete('emptyCardAccess');
  return { rig, capabilities, observations: observationsOf(rig), personality, reportDir };
}

export function suiteEnv(): SuiteEnv {
  if (cached) return cached;
  const rig = loadRig(process.env[ENV.rigFile] ?? 'virtual');
  const personality = process.env[ENV.personality] ?? (rig.modem.kind === 'fake' ? firstPersonality(rig.modem.personality) : (rig.modem.personality ?? 'unknown'));
  const reportDir = process.env[ENV.reportDir] ?? mkdtempSync(join(tmpdir(), 'bridgelab-suite-'));
  cached = envFor(rig, personality, reportDir);
  return cached;
}
