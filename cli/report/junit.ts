// JUnit XML of a certify run, the format CI systems read (GitHub and GitLab test reports),
// valid against the Jenkins xUnit plugin's junit-10.xsd (testdata/junit-10.xsd): one
// <testsuite> per personality and group, the bridge's cases and bridgelab's self-checks in
// suites of their own; Fail is <failure>, Inconclusive <error>, N/A <skipped>, each with a
// type, a one-line message and a body (step, expected, actual, requirement, evidence paths).
// Every text from a bridge, modem or card goes through safeText: XML 1.0 forbids most control
// characters, and one ANSI colour code would make the whole file unreadable to strict parsers.
import { totals, type CaseResult } from '../../suites/framework/verdict.ts';
import { decisiveStep, expectedActual, faultLabel, faultOf, reasonOf, safeText } from './model.ts';

export function xmlEscape(s: string): string {
  return safeText(s).replace(/[<>&'"\n\r\t]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' })[c]!);
}

/** Element text: like xmlEscape, but line breaks stay (GitLab shows the body as it is). */
function xmlText(s: string): string {
  return safeText(s).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

const camel = (s: string) => s.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase()).replace(/^./, (ch) => ch.toUpperCase());

/** "bridgelab.quectel-ec25j.BridgeTransport": dotted, never a path (GitHub annotations read '/' as a file). */
export function junitClassname(c: Pick<CaseResult, 'personality' | 'group' | 'iut'>): string {
  return ['bridgelab', c.personality.replace(/[^\w.-]/g, '_'), ...(c.iut === 'self' ? ['SelfCheck'] : []), camel(c.group)].join('.');
}

/** The body of a <failure> or <error>: what a person reading the CI job needs. */
export function failureBody(c: CaseResult): string {
  const step = decisiveStep(c);
  const { expected, actual } = expectedActual(c);
  const lines = [
    `Verdict: ${c.verdict} (at fault: ${faultLabel(c)})`,
    `Case: ${c.id}: ${c.title} [${c.personality}]`,
    `Requirement: ${c.requirement || '-'}`,
    step ? `Step ${step.n}: ${step.action} (expected: ${step.expected})` : 'Step: none (an initial condition or the case set-up)',
    ...(expected !== undefined ? [`Expected: ${expected}`] : []),
    ...(actual !== undefined ? [`Actual: ${actual}`] : []),
    `Reason: ${reasonOf(c)}`,
    'Evidence (relative to the report directory):',
    ...Object.entries(c.evidence).map(([k, p]) => {
      const range = step?.lines?.[k as keyof NonNullable<typeof step.lines>];
      return `  ${k}: ${p}${range ? ` (lines ${range.from}-${range.to})` : ''}`;
    }),
  ];
  return lines.join('\n');
}

/** What the bridge printed around a case's failing step (a non-passing case's bridge.log lines), if any. */
export type BridgeOutputOf = (c: CaseResult) => string | undefined;

function testcase(c: CaseResult, outputOf: BridgeOutputOf): string {
  const attrs = `classname="${xmlEscape(junitClassname(c))}" name="${xmlEscape(`${c.id}: ${c.title}`)}" time="${(c.durationMs / 1000).toFixed(3)}"`;
  const category = faultOf(c) ?? 'unrecorded';
  const message = xmlEscape(`${c.verdict}: ${reasonOf(c)}`);
  switch (c.verdict) {
    case 'Fail':
      return `    <testcase ${attrs}><failure message="${message}" type="Fail.${category}">${xmlText(failureBody(c))}</failure>${systemErr(c, outputOf)}</testcase>`;
    case 'Inconclusive':
      return `    <testcase ${attrs}><error message="${message}" type="Inconclusive.${category}">${xmlText(failureBody(c))}</error>${systemErr(c, outputOf)}</testcase>`;
    case 'N/A':
      return `    <testcase ${attrs}><skipped message="${message}"/></testcase>`;
    default:
      return `    <testcase ${attrs}/>`;
  }
}

function systemErr(c: CaseResult, outputOf: BridgeOutputOf): string {
  const text = outputOf(c);
  return text ? `<system-err>${xmlText(text)}</system-err>` : '';
}

const seconds = (cases: readonly CaseResult[]) => (cases.reduce((n, c) => n + c.durationMs, 0) / 1000).toFixed(3);

export function junitXml(results: readonly CaseResult[], startedAt: Date = new Date(), outputOf: BridgeOutputOf = () => undefined): string {
  const bySuite = new Map<string, CaseResult[]>();
  for (const r of results) {
    const key = `${r.personality} / ${r.group}${r.iut === 'self' ? ' (self-checks of bridgelab)' : ''}`;
    bySuite.set(key, [...(bySuite.get(key) ?? []), r]);
  }
  const suites = [...bySuite.entries()].map(([name, cases], i) => {
    const t = totals(cases);
    return [
      `  <testsuite id="${i}" name="${xmlEscape(name)}" package="${xmlEscape(junitClassname(cases[0]!))}" tests="${t.total}" failures="${t.Fail}" errors="${t.Inconclusive}" skipped="${t['N/A']}" time="${seconds(cases)}" timestamp="${startedAt.toISOString().slice(0, 19)}">`,
      ...cases.map((c) => testcase(c, outputOf)),
      '  </testsuite>',
    ].join('\n');
  });
  const t = totals(results);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bridgelab certify" tests="${t.total}" failures="${t.Fail}" errors="${t.Inconclusive}" time="${seconds(results)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
