// JUnit XML of a certify run (the format CI systems read: GitHub and GitLab test reports):
// one <testsuite> per personality and group, one <testcase> per case; Fail is <failure>,
// Inconclusive <error>, N/A <skipped>.
import { totals, type CaseResult } from '../../suites/framework/verdict.ts';

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function junitXml(results: readonly CaseResult[]): string {
  const byGroup = new Map<string, CaseResult[]>();
  for (const r of results) {
    const key = `${r.personality} / ${r.group}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  const suites = [...byGroup.entries()].map(([name, cases]) => {
    const t = totals(cases);
    const body = cases
      .map((c) => {
        const inner =
          c.verdict === 'Fail'
            ? `<failure message="${xmlEscape(c.reason ?? '')}"/>`
            : c.verdict === 'Inconclusive'
              ? `<error message="${xmlEscape(`Inconclusive: ${c.reason ?? ''}`)}"/>`
              : c.verdict === 'N/A'
                ? `<skipped message="${xmlEscape(`N/A: ${c.reason ?? ''}`)}"/>`
                : '';
        return `    <testcase classname="${xmlEscape(name)}" name="${xmlEscape(`${c.id}: ${c.title}`)}" time="${(c.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xmlEscape(name)}" tests="${t.total}" failures="${t.Fail}" errors="${t.Inconclusive}" skipped="${t['N/A']}">\n${body}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bridgelab certify">\n${suites.join('\n')}\n</testsuites>\n`;
}

