// Time to write the report of a full certify run (summary.json, junit.xml, report.html):
// a synthetic report of 6 personalities x 271 cases, a quarter of them Fail with a 200-line
// apdu.log and a 60-line at.log each (what a defective bridge leaves), written by writeReport
// as certify does. Target: seconds, not minutes (allure generate took 8 s for the same count).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRig } from '../rigs/rig.ts';
import { writeReport } from '../cli/report/summary.ts';
import type { CaseResult } from '../suites/framework/verdict.ts';

export interface ReportTiming {
  readonly cases: number;
  readonly failing: number;
  /** writeReport wall time: summary.json + junit.xml + report.html */
  readonly writeMs: number;
  readonly htmlBytes: number;
  readonly junitBytes: number;
}

function syntheticCases(dir: string, personalities: number, perPersonality: number): CaseResult[] {
  const out: CaseResult[] = [];
  for (let p = 0; p < personalities; p++)
    for (let i = 0; i < perPersonality; i++) {
      const personality = `personality-${p}`;
      const id = `TC_Bridge_Bench.Case_${i}`;
      const failing = i % 4 === 0;
      const caseDir = join('cases', personality, id);
      const evidence: Record<string, string> = {};
      if (failing) {
        mkdirSync(join(dir, caseDir), { recursive: true });
        const apdu = Array.from({ length: 200 }, (_, n) => `2026-01-02T03:04:05.${String(n % 1000).padStart(3, '0')}Z ${n % 2 ? 'modem-card' : 'lpa-bridge'} ${n % 4 < 2 ? '>>' : '<<'} 81e2910078bf38${'a5'.repeat(100)}`);
        const at = Array.from({ length: 60 }, (_, n) => `2026-01-02T03:04:05.${String(n).padStart(3, '0')}Z >> AT+CGLA=1,254,"81E29100${'A5'.repeat(60)}"`);
        writeFileSync(join(dir, caseDir, 'apdu.log'), apdu.join('\n') + '\n');
        writeFileSync(join(dir, caseDir, 'at.log'), at.join('\n') + '\n');
        Object.assign(evidence, { apduLog: join(caseDir, 'apdu.log'), atLog: join(caseDir, 'at.log') });
      }
      out.push({
        id,
        title: 'a status word of the card reaches the LPA unchanged through the bridge',
        group: 'Bridge transport',
        iut: i % 3 === 0 ? 'self' : 'bridge',
        personality,
        verdict: failing ? 'Fail' : 'Pass',
        ...(failing ? { reason: "step 2 (send GetEID): expected '6F00' to be '6A80' // Object.is equality", failure: { category: 'bridge' as const, step: 2, message: 'the LPA got 6F00', expected: '6A80', actual: '6F00' } } : {}),
        steps: [
          { n: 1, action: 'open a logical channel and select the ISD-R', expected: 'channel 1, FCI and 9000', status: 'pass' },
          { n: 2, action: 'send GetEID (8x E2 91 00 06 BF3E035C015A 00)', expected: 'exactly the card status word', status: failing ? 'fail' : 'pass', ...(failing ? { lines: { apduLog: { from: 120, to: 126 } } } : {}) },
        ],
        durationMs: 40,
        requirement: 'ISO/IEC 7816-4 5.6 (status words); SGP.22 5.7.20',
        evidence,
      });
    }
  return out;
}

export function benchReportHtml(workDir: string): ReportTiming {
  mkdirSync(workDir, { recursive: true });
  const results = syntheticCases(workDir, 6, 271);
  const t0 = performance.now();
  writeReport(workDir, results, { startedAt: new Date(), rig: loadRig('virtual'), rigSource: 'virtual', personalities: ['personality-0'], html: true }, () => {});
  const writeMs = performance.now() - t0;
  return { cases: results.length, failing: results.filter((r) => r.verdict === 'Fail').length, writeMs, htmlBytes: statSync(join(workDir, 'report.html')).size, junitBytes: statSync(join(workDir, 'junit.xml')).size };
}
