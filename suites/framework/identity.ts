// Identity of what a certify run certified, recorded per personality in identity.json of
// the report (SGP.23 test reports name the implementation under test and the test tool):
// bridgelab's version and git commit, the host, the bridge (for a vendor's command: the
// command, the SHA-256 of its executable and of the files it names, and what
// `<executable> --version` answers within a second), the modem's identity (ATI, +CGMR
// revision: 3GPP TS 27.007 5.1-5.3, ITU-T V.250 6.1.3) and the card's EID (SGP.22 5.7.20)
// as the rig sees them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, platform, release, type as osType } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rig } from '../../rigs/rig.ts';
import type { ModemDetection, ModemIdentity } from '../../sim/bridge/modem-session.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FileDigest {
  path: string;
  sha256: string;
}

export interface BridgeIdentity {
  kind: Rig['bridge']['kind'];
  /** external: the command template as the rig gives it */
  command?: string;
  /** external: the program the command runs, and its digest */
  executable?: FileDigest;
  /** external: further files the command names (a script, a config), with their digests */
  files?: FileDigest[];
  /** external: what `<executable> --version` printed, when it answered within a second */
  version?: string;
  /** running: where the rig reaches it */
  address?: string;
}

export interface ModemIdentityRecord {
  /** where the identity comes from: the built-in bridge's detection, the fake modem's personality, or nowhere */
  source: 'bridge detection' | 'fake modem personality' | 'not observable';
  identity?: Partial<ModemIdentity>;
  detection?: ModemDetection;
  /** not observable: why */
  note?: string;
}

export interface RigIdentity {
  rig: string;
  personality: string;
  bridgelab: { version: string; commit: string; dirty?: boolean };
  host: { os: string; release: string; platform: string; arch: string; node: string };
  bridge: BridgeIdentity;
  modem: ModemIdentityRecord;
  /** the card's EID, read from the emulated card or through the bridge (GetEID) */
  eid?: string;
  /** GetEID through the bridge failed: why */
  eidError?: string;
  smdp?: { address: string; oid: string };
}

export const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** bridgelab's package version and the git commit of the checkout it runs from. */
export function toolIdentity(): RigIdentity['bridgelab'] {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 5000 });
  const head = git(['rev-parse', 'HEAD']);
  if (head.status !== 0) return { version, commit: 'unknown (not a git checkout)' };
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return { version, commit: head.stdout.trim(), ...(status.status === 0 ? { dirty: status.stdout.trim() !== '' } : {}) };
}

export function hostIdentity(): RigIdentity['host'] {
  return { os: osType(), release: release(), platform: platform(), arch: arch(), node: process.version };
}

/**
 * The words of a bridge command as the shell that launches it splits them (the same
 * /bin/sh, the same quoting rules), without running it: the executable resolved on PATH.
 */
function commandWords(command: string, cwd: string): { executable: string | undefined; args: string[] } {
  const script = `set -- ${command}\ncommand -v -- "$1" || echo\nshift\nprintf '%s\\0' "$@"`;
  const r = spawnSync('/bin/sh', ['-c', script], { cwd, encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return { executable: undefined, args: [] };
  const nl = r.stdout.indexOf('\n');
  const executable = r.stdout.slice(0, nl).trim();
  return { executable: executable || undefined, args: r.stdout.slice(nl + 1).split('\0').filter(Boolean) };
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** What can be said about a vendor's bridge command before and apart from running it. */
export function externalBridgeIdentity(command: string, cwd: string): BridgeIdentity {
  const out: BridgeIdentity = { kind: 'external', command };
  const words = commandWords(command, cwd);
  const exe = words.executable && (isAbsolute(words.executable) ? words.executable : resolve(cwd, words.executable));
  if (exe && isFile(exe)) {
    out.executable = { path: exe, sha256: sha256File(exe) };
    const v = spawnSync(exe, ['--version'], { cwd, encoding: 'utf8', timeout: 1000 });
    const text = `${v.stdout ?? ''}${v.stderr ?? ''}`.trim();
    if (v.status === 0 && text) out.version = text.split('\n').slice(0, 3).join(' | ');
  }
  const files = words.args.map((a) => resolve(cwd, a)).filter((p) => !p.startsWith('/dev/') && isFile(p));
  if (files.length) out.files = files.map((path) => ({ path, sha256: sha256File(path) }));
  return out;
}
