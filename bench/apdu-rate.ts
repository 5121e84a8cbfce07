// eUICC APDU rates (SGP.22 ES10 on the software eUICC, in process, no transport):
// - ES10c.GetProfilesInfo (5.7.15) on a card holding `profiles` installed TS.48 profiles,
//   repeated for `durationMs`: APDUs per second of eUICC time (time inside transmit), and
//   complete GetProfilesInfo calls per second as the LPA sees them (encode, T=0, decode);
// - BPP segment processing (ES10b.LoadBoundProfilePackage 5.7.6, ES8+ 5.5): the STORE DATA
//   APDUs of real downloads (collected by download.ts), APDUs per second of eUICC time,
//   for the '86' loadProfileElements segments and for the last APDU (install: package
//   parse, PIR signature, NVM write) separately.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Lpa } from '../sim/lpa/flows.ts';
import { lpaHttp, newEuicc, startBenchSmdp } from './lib/rig.ts';
import { summarize, type Summary } from './lib/stats.ts';
import { TimedTransport } from './lib/timing.ts';
import type { DownloadRun } from './download.ts';

export interface GetProfilesInfoRate {
  readonly profiles: number;
  readonly calls: number;
  readonly apdus: number;
  /** APDUs per second of time spent inside the eUICC */
  readonly apdusPerSecond: number;
  /** GetProfilesInfo calls per second, LPA side (request encoding and response decoding included) */
  readonly callsPerSecond: number;
  readonly responseBytes: number;
}

export async function benchGetProfilesInfo(o: { workDir: string; profiles: number; durationMs: number }): Promise<GetProfilesInfoRate> {
  mkdirSync(o.workDir, { recursive: true });
  const smdp = await startBenchSmdp(join(o.workDir, 'smdp-gpi'), { count: o.profiles + 1 });
  const euicc = await newEuicc(join(o.workDir, 'euicc-gpi.json'), smdp);
  try {
    const card = new TimedTransport(euicc);
    const lpa = await Lpa.open(card, { http: lpaHttp(smdp) });
    for (let i = 0; i < o.profiles; i++) await lpa.downloadProfile(smdp.es2.order({}).activationCode);
    let responseBytes = 0;
    card.onApdu = (t) => {
      responseBytes += t.rapdu.length;
    };
    for (let i = 0; i < 20; i++) await lpa.es10.getProfilesInfo(); // warm-up
    card.take();
    responseBytes = 0;
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < o.durationMs) {
      const r = await lpa.es10.getProfilesInfo();
      if (!('profileInfoListOk' in r) || r.profileInfoListOk.length !== o.profiles) throw new Error('GetProfilesInfo did not list the installed profiles');
      calls++;
    }
    const wall = performance.now() - t0;
    const { apdus, ms } = card.take();
    await lpa.close();
    return { profiles: o.profiles, calls, apdus, apdusPerSecond: apdus / (ms / 1000), callsPerSecond: calls / (wall / 1000), responseBytes: Math.round(responseBytes / calls) };
  } finally {
    await euicc.close();
    await smdp.close();
  }
}

export interface BppRate {
  readonly downloads: number;
  readonly apdusPerDownload: number;
  readonly bytesPerDownload: number;
  /** all BPP APDUs: APDUs per second of eUICC time */
  readonly apdusPerSecond: number;
  /** every APDU but the last (segments verified, decrypted, buffered) */
  readonly segmentApdusPerSecond: number;
  readonly segmentApduMs: Summary;
  /** the last APDU of each BPP: the profile is parsed and installed, the PIR signed and stored */
  readonly installApduMs: Summary;
  /** BPP bytes (C-APDU bytes) per second of eUICC time */
  readonly kibPerSecond: number;
}

export function bppRate(runs: readonly DownloadRun[]): BppRate {
  const all = runs.flatMap((r) => r.bpp.perApduMs);
  const segments = runs.flatMap((r) => r.bpp.perApduMs.slice(0, -1));
  const installs = runs.map((r) => r.bpp.perApduMs[r.bpp.perApduMs.length - 1] ?? Number.NaN);
  const totalMs = all.reduce((a, b) => a + b, 0);
  const segMs = segments.reduce((a, b) => a + b, 0);
  const bytes = runs.reduce((a, r) => a + r.bpp.bytes, 0);
  return {
    downloads: runs.length,
    apdusPerDownload: all.length / Math.max(1, runs.length),
    bytesPerDownload: bytes / Math.max(1, runs.length),
    apdusPerSecond: all.length / (totalMs / 1000),
    segmentApdusPerSecond: segments.length / (segMs / 1000),
    segmentApduMs: summarize(segments),
    installApduMs: summarize(installs),
    kibPerSecond: bytes / 1024 / (totalMs / 1000),
  };
}
