// Test helper: synthetic CaseResults for the report tests (the contract of
// suites/framework/verdict.ts), with defaults a passing bridge case would have.
import type { CaseResult } from '../../../suites/framework/verdict.ts';

export function caseResult(over: Partial<CaseResult> & Pick<CaseResult, 'id'>): CaseResult {
  return {
    title: over.id,
    group: 'Bridge transport',
    iut: 'bridge',
    personality: 'quectel-ec25j',
    verdict: 'Pass',
    steps: [],
    durationMs: 12,
    requirement: 'ISO/IEC 7816-4 5.6',
    evidence: { apduLog: 'cases/quectel-ec25j/X/apdu.log' },
    ...over,
  };
}
