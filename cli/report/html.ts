// report.html: the certify report as one self-contained page, built by bridgelab from the case
// results (no Allure, no CDN, no request of any kind: a Content-Security-Policy forbids them),
// so that it opens from file:// in any browser, e.g. from a downloaded CI artifact.
// It speaks bridgelab's verdicts (SGP.23: Pass / Fail / Inconclusive / N/A), counts the
// bridge's cases and bridgelab's self-checks apart, and answers above the fold whether the
// bridge passes and, if not, which requirement fails at which step with expected vs actual.
// Each non-passing case embeds the log lines of its decisive step (apdu.log with the LPA-side
// and card-side hops side by side, at.log, the bridge's own output); the evidence files are
// linked relatively. Every text a bridge, modem or card wrote goes through safeText (no
// control characters, no absolute path of the machine).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalsByIut, VERDICTS, type CaseResult, type EvidenceLog, type LineRange, type StepResult, type Totals, type Verdict } from '../../suites/framework/verdict.ts';
import { decisiveStep, expectedActual, faultLabel, reasonOf, safeText } from './model.ts';

export interface HtmlReportInput {
  reportDir: string;
  results: readonly CaseResult[];
  rigName: string;
  rigDescription?: string;
  /** one line: which bridge was certified (command, address or the reference bridge) */
  bridge: string;
  capabilities: readonly string[];
  personalities: readonly string[];
  identities: Record<string, unknown>;
  versions: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  only?: string;
  shard?: string;
}

/** Non-passing cases whose log excerpts are embedded; the others link their files (page size). */
export const MAX_EXCERPTS = 150;
/** Lines of a log shown around a step's range, and when a case has no range, from its end. */
const CONTEXT_LINES = 4;
const TAIL_LINES = 40;
const MAX_RANGE_LINES = 120;
/** A log line longer than this is cut in the page (the evidence file keeps it whole). */
const MAX_LINE_CHARS = 240;

type Esc = (s: string) => string;

function makeEscape(reportDir: string): Esc {
  return (s) => safeText(s, reportDir).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
const LOG_LETTER: Record<EvidenceLog, string> = { apduLog: 'a', atLog: 't', httpLog: 'h', bridgeLog: 'b' };
/** Short ids for the lines of an excerpt (`x12-a120`: excerpt 12, apdu.log line 120): thousands of them per page. */
const lineId = (key: string, log: EvidenceLog, n: number) => `${key}-${LOG_LETTER[log]}${n}`;
export const caseAnchor = (c: Pick<CaseResult, 'personality' | 'id'>) => `case-${slug(c.personality)}-${slug(c.id)}`;
const VERDICT_CLASS: Record<Verdict, string> = { Pass: 'pass', Fail: 'fail', Inconclusive: 'inco', 'N/A': 'na' };
const badge = (v: Verdict) => `<span class="v ${VERDICT_CLASS[v]}">${v}</span>`;
/** a relative link to an evidence file (paths in results are relative to the report directory) */
const fileHref = (p: string) => encodeURI(p).replace(/#/g, '%23').replace(/\?/g, '%3F');

function bridgePasses(t: Totals): boolean {
  return t.Fail === 0 && t.Inconclusive === 0 && t.applicable > 0;
}

function totalsTable(id: string, caption: string, t: Totals): string {
  const cells = VERDICTS.map((v) => `<td class="count ${VERDICT_CLASS[v]}" data-verdict="${v}">${t[v]}</td>`).join('');
  return `<table class="totals" id="${id}"><caption>${caption}</caption><tr>${VERDICTS.map((v) => `<th>${badge(v)}</th>`).join('')}<th>applicable</th><th>total</th></tr><tr>${cells}<td data-total="applicable">${t.applicable}</td><td data-total="total">${t.total}</td></tr></table>`;
}

function stepLines(step: StepResult | undefined, log: EvidenceLog): LineRange | undefined {
  return step?.lines?.[log];
}

/** The "not passed" row of a case: the answer to "what fails, where, expected vs actual". */
function problemRow(c: CaseResult, esc: Esc, keys: ReadonlyMap<CaseResult, string>): string {
  const step = decisiveStep(c);
  const { expected, actual } = expectedActual(c);
  const anchor = caseAnchor(c);
  const apdu = stepLines(step, 'apduLog');
  const key = keys.get(c);
  const stepCell = step ? `${step.n}. ${esc(step.action)}${apdu && key ? ` <a class="lines" href="#${lineId(key, 'apduLog', apdu.from)}">APDU lines ${apdu.from}-${apdu.to}</a>` : ''}` : '<i>initial condition / set-up</i>';
  return `<tr class="problem" data-verdict="${c.verdict}"><td>${badge(c.verdict)}</td><td>${esc(faultLabel(c))}</td><td><a href="#${anchor}">${esc(c.id)}</a><div class="sub">${esc(c.title)} · ${esc(c.personality)}</div></td><td>${esc(c.requirement || '-')}</td><td>${stepCell}</td><td>${expected !== undefined ? esc(expected) : ''}</td><td>${actual !== undefined ? esc(actual) : ''}<div class="sub reason">${esc(reasonOf(c))}</div></td></tr>`;
}

function problemsTable(cases: readonly CaseResult[], esc: Esc, shown: number, keys: ReadonlyMap<CaseResult, string>): string {
  if (!cases.length) return '';
  const head = '<tr><th>verdict</th><th>at fault</th><th>case</th><th>requirement</th><th>step</th><th>expected</th><th>actual / reason</th></tr>';
  const first = cases.slice(0, shown).map((c) => problemRow(c, esc, keys)).join('\n');
  const rest = cases.slice(shown);
  return `<table class="problems">${head}\n${first}</table>${rest.length ? `<details class="more"><summary>${rest.length} more not passed</summary><table class="problems">${head}\n${rest.map((c) => problemRow(c, esc, keys)).join('\n')}</table></details>` : ''}`;
}

/** Flatten an identity record into "key: value" rows (nested keys joined with '.'). */
function flatten(value: unknown, prefix = '', depth = 0): [string, string][] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object') ? [[prefix, value.join(' / ')]] : value.flatMap((v, i) => flatten(v, `${prefix}[${i}]`, depth + 1));
  if (typeof value === 'object' && depth < 4) return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k, depth + 1));
  return [[prefix, typeof value === 'object' ? JSON.stringify(value) : String(value)]];
}

function identitySection(input: HtmlReportInput, esc: Esc): string {
  const rows = (pairs: [string, string][]) => pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const run: [string, string][] = [
    ['rig', `${input.rigName}${input.rigDescription ? ` (${input.rigDescription})` : ''}`],
    ['bridge', input.bridge],
    ['capabilities', input.capabilities.join(', ')],
    ['personalities', input.personalities.join(', ')],
    ['started', input.startedAt],
    ['finished', input.finishedAt],
    ...(input.only !== undefined ? ([['only', input.only]] as [string, string][]) : []),
    ...(input.shard ? ([['shard', input.shard]] as [string, string][]) : []),
    ...Object.entries(input.versions),
  ];
  const per = Object.entries(input.identities).map(([p, id]) => `<details><summary>identity of the parts: ${esc(p)}</summary><table class="kv">${rows(flatten(id))}</table></details>`);
  return `<section id="identity"><h2>What was certified</h2><table class="kv">${rows(run)}</table>${per.join('')}</section>`;
}

function readLines(reportDir: string, rel: string | undefined): string[] | undefined {
  if (!rel) return undefined;
  const file = join(reportDir, rel);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  return text.length ? text.replace(/\n$/, '').split('\n') : [];
}

/** Which 1-based lines of a log to show: the step's range with context, else the end. */
function window(total: number, range: LineRange | undefined): { from: number; to: number; note: string } {
  if (range) {
    const from = Math.max(1, range.from - CONTEXT_LINES);
    const to = Math.min(total, range.to + CONTEXT_LINES, from + MAX_RANGE_LINES - 1);
    return { from, to, note: `lines ${range.from}-${range.to} are the decisive step's (marked), with ${CONTEXT_LINES} lines around` };
  }
  const from = Math.max(1, total - TAIL_LINES + 1);
  return { from, to: total, note: from > 1 ? `the last ${total - from + 1} of ${total} lines (this run recorded no line range for the step)` : `all ${total} lines (this run recorded no line range for the step)` };
}

const cut = (s: string) => (s.length > MAX_LINE_CHARS ? `${s.slice(0, MAX_LINE_CHARS)} … (${s.length - MAX_LINE_CHARS} more characters in the file)` : s);
// "2026-12-07T11:58:08.888Z lpa-bridge >> 81e2..." -> time, hop, rest
const APDU_LINE = /^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d\.\d+)Z (\S+) (.*)$/;
const LPA_SIDE = new Set(['lpa-bridge', 'lpa-card']);
const EXCERPT_LOGS = ['apduLog', 'atLog', 'httpLog', 'bridgeLog'] as const satisfies readonly EvidenceLog[];

function excerpt(c: CaseResult, key: string, log: EvidenceLog, step: StepResult | undefined, input: HtmlReportInput, esc: Esc): string {
  const rel = c.evidence[log];
  const lines = readLines(input.reportDir, rel);
  if (!lines || !lines.length) return '';
  const range = stepLines(step, log);
  const w = window(lines.length, range);
  const anchor = `${caseAnchor(c)}-${log}`;
  const marked = (n: number) => (range && n >= range.from && n <= range.to ? ' class="m"' : '');
  const rows: string[] = [];
  for (let n = w.from; n <= w.to; n++) {
    const text = lines[n - 1]!;
    const ln = `<td>${n}</td>`;
    if (log === 'apduLog') {
      const m = APDU_LINE.exec(text);
      const [time, hop, rest] = m ? [m[1]!, m[2]!, m[3]!] : ['', '', text];
      const cell = `<span class="t">${esc(time)}</span> <span class="hop">${esc(hop)}</span> ${esc(cut(rest))}`;
      rows.push(`<tr id="${lineId(key, log, n)}"${marked(n)}>${ln}${LPA_SIDE.has(hop) ? `<td>${cell}</td><td></td>` : `<td></td><td>${cell}</td>`}</tr>`);
    } else rows.push(`<tr id="${lineId(key, log, n)}"${marked(n)}>${ln}<td>${esc(cut(text))}</td></tr>`);
  }
  const head =
    log === 'apduLog'
      ? '<colgroup><col class="lnc"><col><col></colgroup><tr><th>line</th><th>LPA side (what the LPA sent and got)</th><th>card side (what the modem sent the card and the card answered)</th></tr>'
      : '<colgroup><col class="lnc"><col></colgroup>';
  const title = { apduLog: 'APDU log', atLog: 'AT log', httpLog: 'HTTP log', bridgeLog: "bridge's own output" }[log];
  return `<div class="excerpt" id="${anchor}"><div class="xh">${title}: ${esc(w.note)} · <a href="${fileHref(rel!)}">${esc(rel!)}</a></div><table class="log ${log}">${head}${rows.join('')}</table></div>`;
}

function stepsTable(c: CaseResult, decisive: StepResult | undefined, esc: Esc, embedded: ReadonlySet<EvidenceLog>, key: string | undefined): string {
  if (!c.steps.length) return '<p class="sub">no declared steps recorded</p>';
  const anchor = caseAnchor(c);
  const rows = c.steps.map((s) => {
    let links = '';
    if (s === decisive) {
      const parts = EXCERPT_LOGS.flatMap((log) => {
        if (!c.evidence[log]) return [];
        const r = stepLines(s, log);
        const name = { apduLog: 'APDU', atLog: 'AT', httpLog: 'HTTP', bridgeLog: 'bridge output' }[log];
        if (embedded.has(log) && key) return [`<a class="lines" href="#${r ? lineId(key, log, r.from) : `${anchor}-${log}`}">${name} ${r ? `lines ${r.from}-${r.to}` : 'log excerpt'}</a>`];
        return [`<a class="lines" href="${fileHref(c.evidence[log]!)}">${name} ${r ? `lines ${r.from}-${r.to}` : 'log'}</a>`];
      });
      links = parts.length ? `<div>${parts.join(' · ')}</div>` : '';
    }
    return `<tr class="st-${s.status}${s === decisive ? ' decisive' : ''}"><td>${s.n}</td><td>${esc(s.action)}</td><td>${esc(s.expected)}</td><td class="status">${s.status}${s.detail ? `<div class="sub">${esc(s.detail)}</div>` : ''}${links}</td></tr>`;
  });
  return `<table class="steps"><tr><th>#</th><th>action</th><th>expected</th><th>status</th></tr>${rows.join('')}</table>`;
}

function caseBlock(c: CaseResult, input: HtmlReportInput, esc: Esc, key: string | undefined): string {
  const decisive = decisiveStep(c);
  const passed = c.verdict === 'Pass';
  const failureBox = passed
    ? ''
    : (() => {
        const { expected, actual } = expectedActual(c);
        const where = decisive ? `step ${decisive.n}: ${esc(decisive.action)}` : c.verdict === 'N/A' ? 'applicability' : 'an initial condition / the set-up';
        return `<div class="box ${VERDICT_CLASS[c.verdict]}"><b>${c.verdict}</b>${c.verdict === 'N/A' ? '' : ` · at fault: ${esc(faultLabel(c))}`} · at ${where}${expected !== undefined ? `<div><b>expected</b> <code>${esc(expected)}</code></div>` : ''}${actual !== undefined ? `<div><b>actual</b> <code>${esc(actual)}</code></div>` : ''}<div class="reason">${esc(reasonOf(c))}</div></div>`;
      })();
  const embedded = key ? EXCERPT_LOGS.map((log) => [log, excerpt(c, key, log, decisive, input, esc)] as const).filter(([, html]) => html) : [];
  const excerpts = embedded.map(([, html]) => html).join('');
  const files = Object.entries(c.evidence)
    .map(([k, p]) => `<a href="${fileHref(p)}">${esc(k)}</a>`)
    .join(' · ');
  return `<details class="case" id="${caseAnchor(c)}" data-verdict="${c.verdict}" data-iut="${c.iut}"><summary>${badge(c.verdict)} <b>${esc(c.id)}</b> ${esc(c.title)} <span class="sub">${c.durationMs} ms</span></summary><div class="body"><div class="sub">requirement: ${esc(c.requirement || '-')}${c.iut === 'self' ? ' · self-check of bridgelab (not counted for the bridge)' : ''}</div>${failureBox}${stepsTable(c, decisive, esc, new Set(embedded.map(([log]) => log)), key)}${excerpts}<div class="files">evidence: ${files || 'none'}</div></div></details>`;
}

const ORDER: Record<Verdict, number> = { Fail: 0, Inconclusive: 1, 'N/A': 2, Pass: 3 };

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
header,main{max-width:1400px;margin:0 auto;padding:0 16px}
h1{font-size:20px;margin:12px 0 4px}h2{font-size:16px;margin:20px 0 6px}
.verdict{padding:10px 14px;border-radius:6px;font-size:17px;margin:8px 0;color:#fff}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}.verdict.none{background:#6e7781}
.v{display:inline-block;min-width:54px;text-align:center;border-radius:4px;padding:0 4px;font-size:12px;font-weight:600;color:#fff}
.v.pass{background:#1a7f37}.v.fail{background:#cf222e}.v.inco{background:#bf8700}.v.na{background:#6e7781}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
.totals{display:inline-table;margin:0 16px 8px 0}.totals caption{text-align:left;font-weight:600}.count{font-size:18px;font-weight:600;text-align:center}
.problems{width:100%}.sub{color:#57606a;font-size:12px}.reason{word-break:break-word}
code{background:#f6f8fa;padding:0 3px;word-break:break-all}
.box{border-left:4px solid;padding:6px 10px;margin:6px 0;background:#fff}.box.fail{border-color:#cf222e}.box.inco{border-color:#bf8700}.box.na{border-color:#6e7781}
details.case{scroll-margin-top:52px;background:#fff;border:1px solid #d0d7de;border-radius:4px;margin:3px 0}details.case>summary{cursor:pointer;padding:3px 6px}
details.case .body{padding:4px 10px 10px}
.steps{margin:6px 0}.steps .decisive td{background:#fff8c5}.st-fail .status{color:#cf222e;font-weight:600}.st-not-verifiable .status{color:#bf8700}.st-not-run .status{color:#6e7781}
.excerpt{margin:8px 0}.xh{font-size:12px;color:#57606a;margin-bottom:2px}
.log{font:12px/1.35 ui-monospace,monospace;width:100%;table-layout:fixed}.log td{border:none;border-bottom:1px solid #eef0f2;word-break:break-all;white-space:pre-wrap}
.log col.lnc{width:52px}.log td:first-child{color:#8c959f;text-align:right}.log tr{scroll-margin-top:52px}.log tr.m td{background:#fff8c5}.log tr:target td{background:#ffd8b5}
.apduLog td:nth-child(2){border-right:1px solid #d0d7de}.t{color:#8c959f}.hop{color:#0969da}
.kv th{width:220px;font-weight:500;color:#57606a}
#filters{position:sticky;top:0;background:#fafbfc;padding:6px 0;border-bottom:1px solid #d0d7de;z-index:1}
.hidden{display:none}
`;

const SCRIPT = `
(function(){
  var boxes=document.querySelectorAll('#filters input[type=checkbox]'),text=document.getElementById('search');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.value]=b.checked});var q=(text.value||'').toLowerCase();
    document.querySelectorAll('details.case').forEach(function(d){
      var show=on[d.dataset.verdict]&&on['iut:'+d.dataset.iut]&&(!q||d.textContent.toLowerCase().indexOf(q)>=0);
      d.classList.toggle('hidden',!show);
    });
  }
  boxes.forEach(function(b){b.addEventListener('change',apply)});text.addEventListener('input',apply);
  document.getElementById('open-failing').addEventListener('click',function(){
    document.querySelectorAll('details.case').forEach(function(d){if(d.dataset.verdict!=='Pass'&&d.dataset.verdict!=='N/A')d.open=true});
  });
  function reveal(){var id=location.hash.slice(1);if(!id)return;var el=document.getElementById(id);if(!el)return;
    var d=el.closest('details');while(d){d.open=true;d=d.parentElement&&d.parentElement.closest('details')}el.scrollIntoView()}
  window.addEventListener('hashchange',reveal);reveal();
})();
`;

/** The whole page. */
export function htmlReport(input: HtmlReportInput): string {
  const esc = makeEscape(input.reportDir);
  const by = totalsByIut(input.results);
  const sorted = [...input.results].sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict] || a.personality.localeCompare(b.personality) || a.id.localeCompare(b.id));
  const notPassed = (iut: 'bridge' | 'self') => sorted.filter((c) => c.iut === iut && (c.verdict === 'Fail' || c.verdict === 'Inconclusive'));
  const bridgeProblems = notPassed('bridge');
  const passes = bridgePasses(by.bridge);
  const banner =
    by.bridge.total === 0
      ? '<div class="verdict none" id="verdict">No case judged the bridge in this run.</div>'
      : passes
        ? `<div class="verdict pass" id="verdict">PASS: the bridge passed all ${by.bridge.applicable} applicable cases.</div>`
        : by.bridge.applicable === 0
          ? '<div class="verdict none" id="verdict">No applicable case: this run proves nothing about the bridge.</div>'
          : `<div class="verdict fail" id="verdict">NOT PASSED: ${by.bridge.Fail} of ${by.bridge.applicable} applicable cases failed, ${by.bridge.Inconclusive} were inconclusive.</div>`;
  const excerpted = new Map(sorted.filter((c) => c.verdict === 'Fail' || c.verdict === 'Inconclusive').slice(0, MAX_EXCERPTS).map((c, i) => [c, `x${i}`] as const));
  const groups = new Map<string, CaseResult[]>();
  for (const c of [...input.results].sort((a, b) => a.personality.localeCompare(b.personality) || (a.iut === b.iut ? 0 : a.iut === 'bridge' ? -1 : 1) || a.group.localeCompare(b.group) || a.id.localeCompare(b.id))) {
    const k = `${c.personality} · ${c.group}${c.iut === 'self' ? ' · self-checks' : ''}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const caseSections = [...groups.entries()]
    .map(([k, cs]) => {
      const counts = VERDICTS.map((v) => `${cs.filter((c) => c.verdict === v).length} ${v}`).join(', ');
      return `<h3>${esc(k)} <span class="sub">${counts}</span></h3>${cs.map((c) => caseBlock(c, input, esc, excerpted.get(c))).join('\n')}`;
    })
    .join('\n');
  const selfProblems = notPassed('self');
  const title = `bridgelab certify: ${input.rigName}, ${input.bridge}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><h1>bridgelab certify report</h1><div class="sub">rig ${esc(input.rigName)} · bridge ${esc(input.bridge)} · ${esc(input.personalities.join(', '))} · ${esc(input.startedAt)}</div></header>
<main>
<section id="overview">${banner}
${totalsTable('totals-bridge', 'bridge under test (these decide the verdict)', by.bridge)}${totalsTable('totals-self', 'self-checks of bridgelab (not counted for the bridge)', by.self)}
${bridgeProblems.length ? `<h2>Not passed</h2>${problemsTable(bridgeProblems, esc, 12, excerpted)}` : ''}
</section>
${identitySection(input, esc)}
${selfProblems.length ? `<section id="self-problems"><h2>Self-checks not passed</h2>${problemsTable(selfProblems, esc, 12, excerpted)}</section>` : ''}
<section id="cases"><h2>All cases</h2>
<div id="filters">${VERDICTS.map((v) => `<label><input type="checkbox" value="${v}" checked> ${badge(v)}</label>`).join(' ')} · <label><input type="checkbox" value="iut:bridge" checked> bridge cases</label> <label><input type="checkbox" value="iut:self" checked> self-checks</label> · <input id="search" type="search" placeholder="filter: id, title, requirement"> <button id="open-failing" type="button">open all Fail / Inconclusive</button></div>
${caseSections}
</section>
<p class="sub">Built by bridgelab from summary.json's cases; the evidence links are relative to this file's directory.${input.results.length - excerpted.size > 0 && excerpted.size === MAX_EXCERPTS ? ` Log excerpts are embedded for the first ${MAX_EXCERPTS} non-passing cases; the others link their files.` : ''}</p>
</main><script>${SCRIPT}</script></body></html>
`;
}
