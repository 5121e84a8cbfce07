// What every report output (verdict table, junit.xml, report.html, Allure results, compare)
// says about a case, in one place: who is at fault, which step failed with what expected and
// actual, and the text of bridges, modems and cards made safe to show (no terminal control
// sequences, nothing XML 1.0 forbids, no absolute path of the machine that ran certify).
import { homedir, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CaseResult, FaultCategory, StepResult } from '../../suites/framework/verdict.ts';

export const FAULT_LABEL: Readonly<Record<FaultCategory, string>> = {
  bridge: 'the bridge under test',
  'rig-part': 'a modem or card of the rig',
  bridgelab: 'bridgelab itself',
  setup: 'the rig set-up',
};

/** The category of a Fail or Inconclusive, when the run recorded one. */
export function faultOf(c: CaseResult): FaultCategory | undefined {
  return c.verdict === 'Fail' || c.verdict === 'Inconclusive' ? c.failure?.category : undefined;
}

export function faultLabel(c: CaseResult): string {
  const f = faultOf(c);
  return f ? FAULT_LABEL[f] : 'not recorded';
}

/** The step the verdict hangs on: the failed one, else the first one that proves nothing here. */
export function decisiveStep(c: CaseResult): StepResult | undefined {
  const n = c.failure?.step;
  return (n !== undefined ? c.steps.find((s) => s.n === n) : undefined) ?? c.steps.find((s) => s.status === 'fail') ?? c.steps.find((s) => s.status === 'not-verifiable');
}

// chai's messages, as vitest's expect words them: "expected 'A' to be 'B' // Object.is equality"
const CHAI = /expected (.+?) to (?:be|equal|deeply equal|strictly equal|include|match|contain|have length|be one of) (.+?)(?: \/\/ .*)?$/;

/** Expected and actual of the failure: recorded by the framework, else read from the assertion message. */
export function expectedActual(c: CaseResult): { expected?: string; actual?: string } {
  if (c.failure?.expected !== undefined || c.failure?.actual !== undefined) return { ...(c.failure.expected !== undefined ? { expected: c.failure.expected } : {}), ...(c.failure.actual !== undefined ? { actual: c.failure.actual } : {}) };
  const m = CHAI.exec(c.failure?.message ?? c.reason ?? '');
  return m ? { actual: m[1]!, expected: m[2]! } : {};
}

/** The reason of a non-passing case, one line. */
export function reasonOf(c: CaseResult): string {
  return (c.failure?.message ?? c.reason ?? '').replace(/\s*\n\s*/g, ' ');
}

// ECMA-48 control sequences (CSI ... final byte, OSC ... BEL/ST) and other ESC sequences
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
// what XML 1.0 (2.2 Char) forbids: C0 controls but TAB, LF, CR; U+FFFE, U+FFFF; lone surrogates
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text from a bridge, modem or card, safe for XML and HTML: colour codes dropped, other controls shown as \xNN. */
export function plainText(s: string): string {
  return s.replace(ANSI, '').replace(XML_FORBIDDEN, (ch) => (ch.length === 1 && ch.charCodeAt(0) < 0x20 ? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : '\ufffd'));
}

const BRIDGELAB_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/**
 * Replace the absolute paths of this machine: the report directory by '.', bridgelab's own
 * tree by '<bridgelab>', the temporary directory by '<tmp>', the home directory by '~', and
 * any other absolute path (but device paths such as /dev/ttyUSB2) by its last component.
 */
export function scrubPaths(s: string, reportDir?: string): string {
  let out = s;
  const roots: [string, string][] = [
    ...(reportDir ? ([[reportDir.replace(/\/$/, ''), '.']] as [string, string][]) : []),
    [BRIDGELAB_ROOT, '<bridgelab>'],
    [tmpdir().replace(/\/$/, ''), '<tmp>'],
    [homedir().replace(/\/$/, ''), '~'],
  ];
  for (const [root, name] of roots.filter(([r]) => r.length > 1).sort((a, b) => b[0].length - a[0].length)) out = out.split(root).join(name);
  return out.replace(/(?<![\w.:/~<>@-])\/(?!dev\/)(?:[\w.+@-]+\/)+([\w.+@-]*)/g, (_m, last: string) => `…/${last}`);
}

/** plainText and scrubPaths: what any report may show of a text it did not write. */
export function safeText(s: string, reportDir?: string): string {
  return scrubPaths(plainText(s), reportDir);
}
