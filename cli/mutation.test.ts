// The mutation matrix (cli/mutation.ts): outcomes from verdicts, the score, the rendered
// tables, the committed matrix (every applicable bridge case killed or a stated exception,
// every defect of the catalogue measured), and the command line's usage errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildMatrix, formatMatrixMarkdown, formatSummaryMarkdown, loadExceptions, MATRIX_DIR, outcomeOf, parseMatrix, parseMutationArgs, scoreOf } from './mutation.ts';
import { UsageError } from './errors.ts';
import { DEFECT_NAMES } from '../sim/bridge/defects.ts';
import type { CaseResult, Verdict } from '../suites/framework/verdict.ts';

const result = (id: string, verdict: Verdict): CaseResult =>
  ({ id, title: id, group: 'Bridge transport', iut: 'bridge', personality: 'p', verdict, steps: [], durationMs: 1, requirement: 'r', evidence: {} }) as unknown as CaseResult;

const META = { startedAt: '2026-12-07T00:00:00.000Z', machine: 'test machine', elapsedMs: 1000, argv: [] };

describe('mutation matrix', () => {
  it('an outcome needs a Pass without the defect; Fail and Inconclusive kill, N/A does not count', () => {
    expect(outcomeOf('Pass', 'Fail')).toBe('killed');
    expect(outcomeOf('Pass', 'Inconclusive')).toBe('killed');
    expect(outcomeOf('Pass', 'Pass')).toBe('survived');
    expect(outcomeOf('Pass', 'N/A')).toBe('not-applicable');
    expect(outcomeOf('Fail', 'Fail')).toBe('not-applicable');
    expect(outcomeOf(undefined, 'Fail')).toBe('not-applicable');
  });

  it('builds, scores and renders a matrix; a survivor needs a stated exception', () => {
    const baselines = new Map([
      ['p', { durationMs: 10, results: [result('TC_A', 'Pass'), result('TC_B', 'Pass'), result('TC_C', 'N/A')] }],
      ['q', { durationMs: 10, results: [result('TC_A', 'Pass'), result('TC_B', 'Pass'), result('TC_C', 'Pass')] }],
    ]);
    const runs = [
      { defect: 'split-bpp' as const, personality: 'p', durationMs: 5, results: [result('TC_A', 'Fail'), result('TC_B', 'Pass'), result('TC_C', 'N/A')] },
      { defect: 'drop-channel-bits' as const, personality: 'q', durationMs: 5, results: [result('TC_A', 'Pass'), result('TC_B', 'Pass'), result('TC_C', 'Inconclusive')] },
    ];
    const m = buildMatrix(baselines, runs, META);
    expect(m.cases.map((c) => [c.id, c.outcomes])).toEqual([
      ['TC_A', { 'split-bpp': 'killed', 'drop-channel-bits': 'survived' }],
      ['TC_B', { 'split-bpp': 'survived', 'drop-channel-bits': 'survived' }],
      ['TC_C', { 'split-bpp': 'not-applicable', 'drop-channel-bits': 'killed' }],
    ]);
    expect(m.defects.map((d) => [d.name, d.killed])).toEqual([
      ['split-bpp', 1],
      ['drop-channel-bits', 1],
    ]);
    expect(scoreOf(m, {})).toMatchObject({ applicable: 3, killed: 2, survivors: ['TC_B'], unexplained: ['TC_B'], percent: 66.7 });
    expect(scoreOf(m, { TC_B: 'observes nothing a bridge can break', TC_A: 'stale reason here' })).toMatchObject({ unexplained: [], staleExceptions: ['TC_A'] });
    expect(formatMatrixMarkdown(m)).toContain('| TC_A | K | . |');
    expect(formatMatrixMarkdown(m)).toContain('| TC_C | - | K |');
    const summary = formatSummaryMarkdown(m, {});
    expect(summary).toMatch(/^Mutation score \*\*66\.7 %\*\*: 2 of 3 applicable bridge cases/);
    expect(summary).toContain('- TC_B: NO REASON GIVEN');
    expect(parseMatrix(JSON.stringify(m), 'x')).toEqual(m);
    expect(() => parseMatrix('{"cases": 3}', 'bad.json')).toThrow(UsageError);
  });

  it('the committed matrix measures every defect, and each applicable case is killed or a stated exception', () => {
    const m = parseMatrix(readFileSync(join(MATRIX_DIR, 'matrix.json'), 'utf8'), 'suites/mutation/matrix.json');
    expect(m.defects.map((d) => d.name).sort()).toEqual([...DEFECT_NAMES].sort());
    expect(m.only, 'the committed matrix covers the whole suite').toBeUndefined();
    const exceptions = loadExceptions();
    const s = scoreOf(m, exceptions);
    expect(s.unexplained, 'cases no defect kills, with no reason in suites/mutation/exceptions.json').toEqual([]);
    expect(s.staleExceptions, 'exceptions for cases that are killed now').toEqual([]);
    expect(readFileSync(join(MATRIX_DIR, 'summary.md'), 'utf8')).toBe(formatSummaryMarkdown(m, exceptions));
    expect(readFileSync(join(MATRIX_DIR, 'matrix.md'), 'utf8')).toBe(formatMatrixMarkdown(m));
  });

  it('refuses bad arguments as usage errors', () => {
    expect(() => parseMutationArgs(['--defect', 'be-nice'])).toThrow(/mutation: unknown defect 'be-nice'/);
    expect(() => parseMutationArgs(['--personality', 'nokia-3310'])).toThrow(/unknown personality 'nokia-3310'/);
    expect(() => parseMutationArgs(['--only', '('])).toThrow(UsageError);
    expect(() => parseMutationArgs(['--bogus'])).toThrow(/mutation: Unknown option '--bogus'/);
    expect(parseMutationArgs(['--defect', 'split-bpp'])).toMatchObject({ personality: 'quectel-ec25j', defects: ['split-bpp'] });
  });
});
