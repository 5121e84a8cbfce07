// Pre-flight of a certify run and of the part commands: what the rig needs from the
// machine is checked before any case runs, and a missing piece is one line naming the
// cause (exit 2), instead of every case failing the same way. Programs: the fake modem's
// PTY comes from socat. Bridges: a vendor's bridge command (rig bridge kind 'external') is
// launched once against a fake modem PTY and must answer an LPA (vsmartcard vpcd: power
// on, ATR, ISO/IEC 7816-3 8.2); a bridge already running at host:port must answer likewise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rig } from '../rigs/rig.ts';
import { findSocat } from '../sim/modem/serial.ts';
import { UsageError } from './errors.ts';

/** The machine lacks what the rig needs (a program, a bridge that starts): exit 2, one line. */
export class PreflightError extends UsageError {}

export interface ProgramNeed {
  program: string;
  /** what it is needed for */
  purpose: string;
  /** the command that installs it (Debian) */
  install: string;
  find: () => string | null;
}

export const SOCAT: ProgramNeed = { program: 'socat', purpose: "the fake modem's PTY", install: 'apt-get install -y socat', find: findSocat };

/** Programs a rig's parts run (the fake modem is served on a PTY that socat creates, whatever its endpoint). */
export function programsFor(rig: Rig): ProgramNeed[] {
  return rig.modem.kind === 'fake' ? [SOCAT] : [];
}

/** Throw PreflightError for the first program missing from PATH. */
export function requirePrograms(needs: readonly ProgramNeed[]): void {
  for (const n of needs) if (!n.find()) throw new PreflightError(`${n.program} is required for ${n.purpose}: ${n.install}`);
}

/** One line of a program's output, safe for a terminal (control characters dropped). */
function oneLine(lines: readonly string[], max = 600): string {
  const text = lines.map((l) => l.replace(/[\u0000-\u001f\u007f]|\u001b\[[0-9;]*[A-Za-z]/g, '').trim()).filter(Boolean).join(' | ');
  if (!text) return '(no output)';
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/**
 * Start the rig's bridge once, as certify will, and check that it serves an LPA (power on,
 * ATR). The built-in bridge is bridgelab's own and is not probed. Throws PreflightError
 * with one line: which bridge, what happened, and what it printed.
 */
export async function preflightBridge(rig: Rig, personality: string): Promise<void> {
  const b = rig.bridge;
  if (b.kind === 'builtin') return;
  const { RigRuntime, BridgeStartError } = await import('../suites/framework/rig-runtime.ts');
  const { envFor } = await import('../suites/framework/env.ts');
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-preflight-'));
  let rt: Awaited<ReturnType<typeof RigRuntime.start>> | undefined;
  try {
    rt = await RigRuntime.start(envFor(rig, personality, dir));
    const t = await rt.connectPowered({ commandTimeoutMs: 10_000 });
    await t.close();
  } catch (err) {
    const message = (err as Error).message;
    if (b.kind === 'running') throw new PreflightError(`no bridge answers at ${b.address} (rig '${rig.name}', bridge kind 'running'): ${message}`);
    if (err instanceof BridgeStartError) {
      const why = err.exitCode === 127 ? ' (command not found)' : err.exitCode === 126 ? ' (not executable)' : '';
      throw new PreflightError(`the bridge command did not start: ${message}${why}; command: ${b.command}; its output: ${oneLine(err.output)}`);
    }
    if (!rt) throw new PreflightError(`rig '${rig.name}' did not start: ${message}`);
    throw new PreflightError(`the bridge command did not serve an LPA: ${message}; command: ${b.command}; its output: ${oneLine(rt.bridgeOutput().slice(-5))}`);
  } finally {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
