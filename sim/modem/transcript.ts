// Published AT transcripts as ground truth for the personalities: the stored form of an
// exchange log taken from a public source (sim/modem/transcripts/*.json), its validation,
// and the comparison of a fake modem's answer with the logged one.
//
// What "answers the same way" means (the comparison):
// - both answers are split into lines; empty lines are dropped (debug logs show them
//   inconsistently); when the log shows the echo, the modem's first line must be the
//   command itself, otherwise the modem must not echo;
// - the final result code (OK, ERROR, +CME ERROR: <n|text>) must be identical;
// - 'exact' exchanges (identity strings, modem-made answers): every line identical, where
//   the token {{imei}} in the log stands for any 15 digits (IMEIs are not stored);
// - 'form' exchanges (the card's data differs from the logged card's): every line reduced
//   to its shape must be identical: the "+NAME:" prefix and the space after the colon are
//   kept exactly, quoted hex becomes "<hex>", a 16-hex-digit handle <handle16>, other
//   numbers <n>; for `<len>,"<hex>"` pairs the length must count the hex characters (3GPP
//   TS 27.007 8.17/8.43) on both sides, and the modem's hex must not use the letter case
//   the log does not (digits only is compatible with either).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const TRANSCRIPT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'transcripts');

const Exchange = z
  .object({
    /** the command line as the replay sends it; {{fill:N}} expands to N hex zeros (a payload the log had and that is shortened here) */
    send: z.string().min(2),
    /** what the log showed being sent, when `send` shortened it */
    logged: z.string().optional(),
    /** response lines as logged, final result code last */
    expect: z.array(z.string()).min(1),
    compare: z.enum(['exact', 'form']),
    /** why this exchange is compared by form, or other remarks */
    note: z.string().optional(),
  })
  .strict();

const Transcript = z
  .object({
    /** public URL of the log */
    source: z.string().regex(/^https:\/\/\S+$/),
    module: z.string().min(2),
    personality: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    /** what the log is, in our words, and what was shortened or left out */
    summary: z.string().min(20),
    /** the card behind the modem (the logged one is not available): a fake card's options */
    card: z
      .object({
        t0: z.boolean().optional(),
        euicc: z.boolean().optional(),
        usim: z.boolean().optional(),
        /** STORE DATA answers: 'echo' (default), 'empty' (just the status word) or a number of bytes */
        storeData: z.union([z.literal('echo'), z.literal('empty'), z.number().int().min(1).max(4096)]).optional(),
      })
      .strict()
      .default({}),
    /** the log shows the modem echoing commands (true), not echoing (false), or cannot tell ('unknown': the replay turns echo off and compares without it) */
    echo: z.union([z.boolean(), z.literal('unknown')]),
    /** commands sent first to reach the logged state, answers not compared (each with why) */
    setup: z.array(z.object({ send: z.string().min(2), why: z.string().min(8) }).strict()).default([]),
    /** URCs the log shows after power-on, in order (compared as a subsequence of the modem's power-on URCs) */
    bootUrcs: z.array(z.string()).optional(),
    exchanges: z.array(Exchange).default([]),
  })
  .strict();

export type TranscriptExchange = z.infer<typeof Exchange>;
export type StoredTranscript = z.infer<typeof Transcript> & { file: string };

export class TranscriptError extends Error {
  override readonly name = 'TranscriptError';
}

/** Parse and validate a transcript document. */
export function parseTranscript(raw: unknown, file = '<inline>'): StoredTranscript {
  const r = Transcript.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new TranscriptError(`${file}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`);
  }
  if (r.data.exchanges.length === 0 && !r.data.bootUrcs) throw new TranscriptError(`${file}: a transcript needs exchanges or bootUrcs`);
  return { ...r.data, file };
}

/** Every stored transcript. */
export function loadTranscripts(dir = TRANSCRIPT_DIR): StoredTranscript[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new TranscriptError(`${file}: invalid JSON: ${(err as Error).message}`);
      }
      return parseTranscript(raw, file);
    });
}

/** The command line the replay sends ({{fill:N}} expanded). */
export function commandLine(e: TranscriptExchange): string {
  return e.send.replace(/\{\{fill:(\d+)\}\}/g, (_, n: string) => '0'.repeat(Number(n)));
}

const FINAL = /^(OK|ERROR|\+CME ERROR: ?.+)$/;

function shapeOf(line: string): { shape: string; problems: string[] } {
  const problems: string[] = [];
  const m = /^(\+[A-Z]+: ?|[*%^!$#][A-Z]+: ?)(.*)$/.exec(line);
  const prefix = m ? (m[1] as string) : '';
  let body = m ? (m[2] as string) : line;
  body = body.replace(/(\d+),"([0-9A-Fa-f]*)"/g, (_, len: string, hex: string) => {
    if (Number(len) !== hex.length) problems.push(`length ${len} does not count the ${hex.length} hex characters of "${hex}"`);
    return `<n>,"<hex>"`;
  });
  body = body.replace(/"[0-9A-Fa-f]+"/g, '"<hex>"').replace(/\b[0-9a-fA-F]{16}\b/g, '<handle16>').replace(/\b\d+\b/g, '<n>');
  return { shape: prefix + body, problems };
}

function letterCase(line: string): 'upper' | 'lower' | 'none' | 'mixed' {
  const hex = [...line.matchAll(/"([0-9A-Fa-f]+)"/g)].map((x) => x[1] as string).join('');
  const up = /[A-F]/.test(hex);
  const low = /[a-f]/.test(hex);
  return up && low ? 'mixed' : up ? 'upper' : low ? 'lower' : 'none';
}

function exactLine(logged: string, got: string): boolean {
  if (!logged.includes('{{imei}}')) return logged === got;
  const re = new RegExp(`^${logged.split('{{imei}}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\d{15}')}$`);
  return re.test(got);
}

/**
 * Compare a modem's raw answer with the logged lines of one exchange. Returns the
 * differences (empty: the modem answers the same way).
 */
export function compareExchange(e: TranscriptExchange, raw: string, echo: boolean): string[] {
  const diffs: string[] = [];
  let lines = raw.split(/\r\n|\r|\n/).filter((l) => l.length > 0);
  const sent = commandLine(e);
  if (echo) {
    if (lines[0] !== sent) diffs.push(`expected the echo ${JSON.stringify(sent)}, got ${JSON.stringify(lines[0])}`);
    else lines = lines.slice(1);
  } else if (lines[0] === sent) {
    diffs.push('the modem echoes the command; the log shows no echo');
    lines = lines.slice(1);
  }
  const want = e.expect.filter((l) => l.length > 0);
  const wantFinal = want.at(-1) as string;
  const gotFinal = lines.at(-1) ?? '';
  if (!FINAL.test(wantFinal)) diffs.push(`the logged answer does not end with a final result code: ${JSON.stringify(wantFinal)}`);
  if (gotFinal !== wantFinal) diffs.push(`final result code: expected ${JSON.stringify(wantFinal)}, got ${JSON.stringify(gotFinal)}`);
  const wantInfo = want.slice(0, -1);
  const gotInfo = lines.slice(0, -1);
  if (wantInfo.length !== gotInfo.length) {
    diffs.push(`expected ${wantInfo.length} information line(s) ${JSON.stringify(wantInfo)}, got ${gotInfo.length} ${JSON.stringify(gotInfo)}`);
    return diffs;
  }
  wantInfo.forEach((w, i) => {
    const g = gotInfo[i] as string;
    if (e.compare === 'exact') {
      if (!exactLine(w, g)) diffs.push(`line ${i + 1}: expected ${JSON.stringify(w)}, got ${JSON.stringify(g)}`);
      return;
    }
    const ws = shapeOf(w);
    const gs = shapeOf(g);
    for (const p of ws.problems) diffs.push(`line ${i + 1} of the log: ${p}`);
    for (const p of gs.problems) diffs.push(`line ${i + 1}: ${p}`);
    if (ws.shape !== gs.shape) diffs.push(`line ${i + 1}: expected the form ${JSON.stringify(ws.shape)} (${JSON.stringify(w)}), got ${JSON.stringify(gs.shape)} (${JSON.stringify(g)})`);
    const wc = letterCase(w);
    const gc = letterCase(g);
    if ((wc === 'upper' && (gc === 'lower' || gc === 'mixed')) || (wc === 'lower' && (gc === 'upper' || gc === 'mixed')))
      diffs.push(`line ${i + 1}: hex letters in ${gc} case, the log shows ${wc} case`);
  });
  return diffs;
}

/** URCs the log shows, compared as a subsequence of what the modem sent (other URCs may come between). */
export function compareUrcs(logged: readonly string[], got: readonly string[]): string[] {
  let j = 0;
  for (const u of got) if (j < logged.length && u === logged[j]) j++;
  return j === logged.length ? [] : [`URC ${JSON.stringify(logged[j])} (and those after it) missing from ${JSON.stringify(got)} in the logged order ${JSON.stringify(logged)}`];
}
