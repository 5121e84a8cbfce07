// Campaign `bridge-at`: malformed modem traffic (3GPP TS 27.007 +CSIM/+CCHO/+CGLA/+CCHC
// answers, V.250 result codes, URCs) into the reference bridge's AtClient + ModemSession
// (sim/bridge), from a scripted serial port (sim/bridge/testing/scripted-port.ts) whose
// modem answers every command either correctly (from a small card model) or with one of:
// truncated / odd-length / non-hex +CGLA payloads, wrong length fields, missing or doubled
// final result codes, +CME/+CMS errors of any number or text, bare ERROR, silence, late
// answers, echo, URCs (restart, card loss, noise) before, inside or after a response,
// binary noise, partial lines over several writes, odd line endings, and 61xx/6Cxx chains.
// The LPA side sends ordinary LPA APDU sequences (MANAGE CHANNEL, SELECT ISD-R, STORE
// DATA, GET RESPONSE, basic channel) through ModemSession.transmit, which must never reject.
//
// Checked per LPA APDU: an answer within the bound its timeouts and retries allow (the
// modem's silences per APDU are capped, so the bound is finite); the answer is either a
// status word of the bridge's table (SW_RULES) or ends with the SW of a well-formed card
// answer the modem gave in this round; every write to the modem is one whole command
// line. After every round of 32 APDUs the modem behaves and a fresh LPA sequence (close
// all, open, SELECT ISD-R, GetEID) must work exactly (one retry allowed, for answers the
// fuzzed modem sent late). A block of 8 rounds shares one bridge (state accumulates as in
// a long-running bridge) and replays on its own; blocks alternate between a +CCHO/+CGLA
// modem and a +CSIM-only modem.
import { responseSw } from '../../sim/apdu/apdu.ts';
import { hexToBytes, toUpperHex } from '../../sim/bytes.ts';
import { AtClient } from '../../sim/bridge/at.ts';
import { ISD_R_AID, ModemSession, SW_RULES } from '../../sim/bridge/modem-session.ts';
import { ScriptedPort } from '../../sim/bridge/testing/scripted-port.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { shortHex, Watchdog, WatchdogTimeout } from '../harness.ts';
import { Rng } from '../prng.ts';

/** LPA APDUs per round (fuzzed modem, then a health check) and rounds per block (one bridge) */
const ROUND = 32;
const ROUNDS = 8;
export const BRIDGE_BLOCK = ROUND * ROUNDS;
const EID = '89049032123451234512345678901235';
const FCI = `6F1284${'10'}${ISD_R_AID}A5039F65FF`;
const RULE_SWS = new Set(Object.values(SW_RULES).map((r) => r.sw));

/** Timing of the AT client and session under fuzz: short, so silences cost little. */
const AT_OPTIONS = { commandTimeoutMs: 80, probeTimeoutMs: 40, rebootWaitMs: 400, probeIntervalMs: 5 } as const;
const SESSION_OPTIONS = { apduTimeoutMs: 80, probeTimeoutMs: 40, cchoRetryDelayMs: 1, apduRetryDelayMs: 1 } as const;
/** silences (no final result) the fuzzed modem may produce per LPA APDU */
const MAX_SILENCES = 3;
/** an LPA APDU must be answered within this (timeouts x retries x resynchronisation, plus margin) */
const ANSWER_BOUND_MS = 20_000;

type ModemKind = 'ccho' | 'csim';

const URCS: readonly string[] = ['+QIND: SMS DONE', '+QIND: PB DONE', '+CPIN: READY', '+CFUN: 1', '+QUSIM: 1', 'SMS DONE', 'PB DONE', '+CREG: 1', '+CIEV: 1,0', 'RING', '+QSTK: 1'];
const RESTART_URCS: readonly string[] = ['RDY', '+SIM READY', '+CPIN: NOT READY', '+CPIN: NOT INSERTED', '+SIMCARD: NOT AVAILABLE', '+QSIMSTAT: 1,0'];

/**
 * The modem at the other end of the scripted port. In healthy mode it answers like a
 * 27.007 modem with a card that knows the ISD-R; in fuzz mode each APDU-path command gets
 * an answer drawn from the episode's PRNG.
 */
class FuzzModem {
  readonly port: ScriptedPort;
  healthy = true;
  rng: Rng = new Rng(0);
  /** SWs of well-formed card answers sent in this episode */
  readonly sent = new Set<number>();
  silencesLeft = MAX_SILENCES;
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextSession = 1;
  private pending: Uint8Array | undefined;
  /** every write the client made that was not exactly one command line */
  readonly badWrites: string[] = [];

  constructor(readonly kind: ModemKind) {
    this.port = new ScriptedPort((line, p) => this.onLine(line, p));
  }

  /** wait for the late answers still scheduled */
  async quiesce(): Promise<void> {
    while (this.timers.size) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Output `text` after `ms`. A modem answers in order: output still scheduled when the
   * next command arrives goes out first (flush), as a slow modem would send it.
   */
  private later(ms: number, text: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.queued.shift();
      this.port.reply(text);
    }, ms);
    this.timers.add(t);
    this.queued.push({ timer: t, text });
  }

  private readonly queued: { timer: NodeJS.Timeout; text: string }[] = [];

  private flush(): void {
    for (const q of this.queued.splice(0)) {
      clearTimeout(q.timer);
      this.timers.delete(q.timer);
      this.port.reply(q.text);
    }
  }

  private onLine(line: string, p: ScriptedPort): void {
    this.flush();
    const raw = p.writes[p.writes.length - 1] ?? '';
    if (!/^AT[^\r\n]*\r$/.test(raw)) this.badWrites.push(raw);
    const apdu = /^AT\+(CCHO|CGLA|CSIM|CCHC)=/.exec(line);
    if (!this.healthy && apdu) return this.fuzzAnswer(line, p);
    if (!this.healthy && this.rng.chance(0.03)) return this.fuzzAnswer(line, p);
    p.reply(this.correct(line));
  }

  /** A 27.007 modem's answer; card answers come from the card model. */
  correct(line: string): string {
    const ok = (...lines: string[]): string => (lines.length ? `\r\n${lines.join('\r\n')}\r\n` : '') + '\r\nOK\r\n';
    if (line === 'AT+CMEE?') return ok('+CMEE: 1');
    if (line === 'ATI') return ok('Fuzz Modems', 'FM1', 'Revision: FM1R01');
    if (line === 'AT+CGMI') return ok('Fuzz Modems');
    if (line === 'AT+CGMM') return ok('FM1');
    if (line === 'AT+CGMR') return ok('FM1R01');
    if (/^AT\+CC(HO|HC)=\?$|^AT\+CGLA=\?$/.test(line)) return this.kind === 'ccho' ? ok() : '\r\nERROR\r\n';
    if (line === 'AT+CSIM=?') return ok();
    let m = /^AT\+CCHO="([0-9A-F]+)"$/.exec(line);
    if (m) return this.kind === 'ccho' ? ok(`+CCHO: ${((this.nextSession++ - 1) % 3) + 1}`) : '\r\n+CME ERROR: 4\r\n';
    if (/^AT\+CCHC=/.test(line)) return ok();
    m = /^AT\+(CGLA|CSIM)=(?:[^,]+,)?(\d+),"([0-9A-F]*)"$/.exec(line);
    if (m) {
      const r = this.card(hexToBytes(m[3]!));
      this.sent.add(responseSw(r));
      const hex = toUpperHex(r);
      return ok(`+${m[1]}: ${hex.length},"${hex}"`);
    }
    return ok();
  }

  /** A card with an ISD-R: FCI on SELECT, the EID for GetEID, 61xx for long data. */
  card(c: Uint8Array): Uint8Array {
    const ins = c[1];
    const sw = (data: string, s = '9000'): Uint8Array => hexToBytes(data + s);
    if (ins === 0x70) return c[2] === 0 ? sw('01') : sw('');
    if (ins === 0xa4) return sw(FCI);
    if (ins === 0xc0) {
      const p = this.pending ?? new Uint8Array(0);
      this.pending = undefined;
      return Uint8Array.of(...p, 0x90, 0x00);
    }
    if (ins === 0xe2 && toUpperHex(c).includes('BF3E035C015A')) return sw(`BF3E125A10${EID}`);
    if (ins === 0xe2 && toUpperHex(c).includes('BF2D')) {
      this.pending = new Uint8Array(300).fill(0xa5);
      return sw('', '6100');
    }
    return sw('');
  }

  private fuzzAnswer(line: string, p: ScriptedPort): void {
    const rng = this.rng;
    const name = /^AT\+(CGLA|CSIM|CCHO|CCHC)/.exec(line)?.[1] ?? 'CGLA';
    const good = this.correct(line);
    const m = /^\r\n(\+[A-Z]+: ?[^\r]*)\r\n/.exec(good);
    const info = m?.[1] ?? '';
    const action = rng.weighted<string>([
      ['correct', 30],
      ['variant', 8],
      ['urc-around', 6],
      ['urc-inside', 4],
      ['restart', 2],
      ['truncated', 5],
      ['bad-length', 4],
      ['odd-hex', 4],
      ['non-hex', 3],
      ['empty-payload', 2],
      ['card-sw', 6],
      ['t0-chain', 4],
      ['no-info', 3],
      ['error', 4],
      ['cme', 6],
      ['cms', 1],
      ['garbage', 4],
      ['binary', 3],
      ['long-line', 1],
      ['split', 4],
      ['line-endings', 3],
      ['echo', 2],
      ['double-final', 2],
      ['extra-final-later', 2],
      ['late', this.silencesLeft > 0 ? 2 : 0],
      ['silent', this.silencesLeft > 0 ? 2 : 0],
    ]);
    trace({ type: 'fuzz-modem', command: line.slice(0, 40), action });
    const crlf = (s: string): string => `\r\n${s}\r\n`;
    const hexPayload = (h: string): string => crlf(`+${name}: ${h.length},"${h}"`) + crlf('OK');
    const cardSw = (): string => {
      const s = rng.pick(['9000', '6A82', '6A80', '6985', '6D00', '6E00', '6881', '6F00', '6700', '9100', '9210', '63C1', '6283', '6C10', '6100', '6101', '61FF', '0000', 'FFFF', '1234', '9862']);
      this.sent.add(parseInt(s, 16));
      return s;
    };
    switch (action) {
      case 'correct':
        return p.reply(good);
      case 'variant': {
        // no space after the colon, lower-case hex, no quotes, extra blank lines
        let v = good;
        if (rng.chance(0.5)) v = v.replace(/: /g, ':');
        if (rng.chance(0.5)) v = v.replace(/"([0-9A-F]+)"/g, (_, h: string) => `"${h.toLowerCase()}"`);
        if (rng.chance(0.3)) v = v.replace(/"/g, '');
        if (rng.chance(0.5)) v = '\r\n\r\n' + v.replace(/\r\nOK/, '\r\n\r\n\r\nOK');
        return p.reply(v);
      }
      case 'urc-around': {
        const u = crlf(rng.pick(URCS));
        return p.reply(rng.chance(0.5) ? u + good : good + u);
      }
      case 'urc-inside': {
        // a URC in the middle of the information line (seen on Quectel)
        if (!info) return p.reply(crlf(rng.pick(URCS)) + good);
        const cut = rng.range(1, info.length - 1);
        return p.reply(`\r\n${info.slice(0, cut)}${crlf(rng.pick(URCS))}${info.slice(cut)}\r\n\r\nOK\r\n`);
      }
      case 'restart':
        return p.reply(rng.chance(0.5) ? crlf(rng.pick(RESTART_URCS)) + (rng.chance(0.5) ? good : '') : good + crlf(rng.pick(RESTART_URCS)));
      case 'truncated':
        return p.reply(info ? crlf(info.slice(0, rng.int(info.length))) + crlf('OK') : crlf(`+${name}: 10,"90`) + crlf('OK'));
      case 'bad-length': {
        const h = cardSw();
        return p.reply(crlf(`+${name}: ${rng.pick([0, 2, 3, 5, 8, 99999, -4])},"${h}"`) + crlf('OK'));
      }
      case 'odd-hex':
        return p.reply(hexPayload(rng.pick(['900', '9', '90001', 'ABCDE'])));
      case 'non-hex':
        return p.reply(hexPayload(rng.pick(['90G0', 'ZZZZ', '90 0', '9000\u00ff', '..', '+-'])));
      case 'empty-payload':
        return p.reply(rng.chance(0.5) ? hexPayload('') : crlf(`+${name}: `) + crlf('OK'));
      case 'card-sw':
        return p.reply(name === 'CCHO' ? crlf(`+CCHO: ${rng.pick(['0', '1', '19', '20', '255', '00000000038aa32f', '-1', 'x'])}`) + crlf('OK') : hexPayload(rng.chance(0.3) ? toUpperHex(rng.bytes(rng.int(40))) + cardSw() : cardSw()));
      case 't0-chain': {
        const s = rng.pick(['61', '6C']) + toUpperHex(Uint8Array.of(rng.byte()));
        this.sent.add(parseInt(s, 16));
        return p.reply(hexPayload(s));
      }
      case 'no-info':
        return p.reply(crlf('OK'));
      case 'error':
        return p.reply(crlf('ERROR'));
      case 'cme':
        return p.reply(crlf(`+CME ERROR: ${rng.pick(['3', '4', '10', '13', '14', '20', '21', '23', '50', '100', '999', '65535', '99999999', 'SIM busy', 'operation not allowed', 'sim failure', 'Unknown', '', 'ÿ'])}`));
      case 'cms':
        return p.reply(crlf(`+CMS ERROR: ${rng.pick(['500', '321', 'x'])}`));
      case 'garbage': {
        const lines = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(['NO CARRIER', 'BUSY', 'CONNECT', '> ', 'OK OK', '+CGLA', '+CGLA:', 'ERR', 'O', 'K', '+CME ERROR', '+CME ERROR:', '"', ',', '+CGLA: ,""']));
        return p.reply(lines.map(crlf).join('') + (rng.chance(0.6) ? good : ''));
      }
      case 'binary': {
        const noise = Buffer.from(rng.bytes(1 + rng.size(200))).toString('latin1');
        return p.reply(rng.chance(0.5) ? noise + good : good + noise);
      }
      case 'long-line':
        // 8000 hex characters is a well-formed (if oversized) card answer ending in SW 9999
        this.sent.add(0x9999);
        return p.reply(crlf(`+${name}: 8000,"${'9'.repeat(rng.pick([1000, 8000, 70000]))}"`) + crlf('OK'));
      case 'split': {
        // the same answer in several writes, with pauses (a slow UART)
        const parts: string[] = [];
        let rest = good;
        while (rest.length) {
          const n = 1 + rng.int(Math.max(1, Math.min(rest.length, 12)));
          parts.push(rest.slice(0, n));
          rest = rest.slice(n);
        }
        let t = 0;
        for (const part of parts) {
          t += rng.int(3);
          if (t === 0) p.reply(part);
          else this.later(t, part);
        }
        return;
      }
      case 'line-endings':
        return p.reply(rng.chance(0.5) ? good.replace(/\r\n/g, '\n') : good.replace(/\r\n/g, '\r'));
      case 'echo':
        return p.reply(`${line}\r${good}`);
      case 'double-final':
        return p.reply(good + rng.pick([crlf('OK'), crlf('ERROR'), good]));
      case 'extra-final-later':
        // a spurious result code after the answer, a little later (before the next answer)
        p.reply(good);
        this.later(1 + rng.int(5), crlf(rng.pick(['OK', 'ERROR', '+CME ERROR: 14'])));
        return;
      case 'late':
        // answered after the client's timeout: a stale answer the resynchronisation must drop
        this.silencesLeft--;
        this.later(AT_OPTIONS.commandTimeoutMs + rng.int(60), good);
        return;
      case 'silent':
        this.silencesLeft--;
        return;
    }
  }
}

interface Bridge {
  modem: FuzzModem;
  at: AtClient;
  session: ModemSession;
  /** answers the session's T=0 reader procedure gave from its own buffer ('t0-reader' decisions) */
  readerAnswers: number;
}

/** BRIDGELAB_FUZZ_TRACE=1 prints the AT and session trace of a replay to stderr. */
const TRACE = process.env['BRIDGELAB_FUZZ_TRACE'] === '1';
const trace = (e: object): void => {
  if (TRACE) process.stderr.write(`${JSON.stringify(e)}\n`);
};

async function startBridge(kind: ModemKind): Promise<Bridge> {
  const modem = new FuzzModem(kind);
  const at = new AtClient(modem.port, { ...AT_OPTIONS, onTrace: trace });
  const counts = { readerAnswers: 0 };
  const session = await ModemSession.start(at, {
    ...SESSION_OPTIONS,
    onTrace: (e) => {
      trace(e);
      if (e.type === 'decision' && e.what === 't0-reader') counts.readerAnswers++;
    },
  });
  return {
    modem,
    at,
    session,
    get readerAnswers() {
      return counts.readerAnswers;
    },
  };
}

/** LPA APDU sequences: what an LPA sends through a bridge. */
function lpaApdu(rng: Rng, channel: number): string {
  const cla = (base: number): string => toUpperHex(Uint8Array.of(channel < 4 ? base | channel : (base & 0x80) | 0x40 | (channel - 4)));
  return rng.weighted<string>([
    ['0070000001', 2],
    [`${cla(0)}A4040010${ISD_R_AID}00`, 3],
    [`${cla(0x80)}E2910006BF3E035C015A00`, 4],
    [`${cla(0x80)}E2910003BF2D0000`, 2],
    [`${cla(0x80)}E2910003BF2000`, 1],
    [`${cla(0x80)}C0000010`, 1],
    [`0070800${Math.min(channel, 9)}00`, 1],
    ['00A40004023F00', 1],
    ['80F2000000', 1],
    [`${cla(0x80)}E211007F${'A5'.repeat(127)}`, 1],
    [`${cla(0x80)}E29100FF${'5A'.repeat(255)}00`, 0.5],
    ['0088000000', 0.3],
    [`${cla(0x00)}A4040010A0000000871002FFFFFFFF890709000000`, 0.3],
  ]);
}

async function healthCheck(b: Bridge): Promise<string | undefined> {
  const tx = async (hex: string): Promise<string> => toUpperHex(await b.session.transmit(hexToBytes(hex)));
  await b.session.closeAllChannels('fuzz episode over');
  const open = await tx('0070000001');
  if (open.length !== 6 || !open.endsWith('9000')) return `MANAGE CHANNEL open answered ${open}`;
  const ch = parseInt(open.slice(0, 2), 16);
  const cla = (base: number): string => toUpperHex(Uint8Array.of(ch < 4 ? base | ch : (base & 0x80) | 0x40 | (ch - 4)));
  const sel = await tx(`${cla(0)}A4040010${ISD_R_AID}00`);
  if (sel !== FCI + '9000') return `SELECT ISD-R answered ${sel}`;
  const eid = await tx(`${cla(0x80)}E2910006BF3E035C015A00`);
  if (eid !== `BF3E125A10${EID}9000`) return `GetEID answered ${eid}`;
  const close = await tx(`0070800${ch}00`);
  if (close !== '9000') return `MANAGE CHANNEL close answered ${close}`;
  return undefined;
}

export const bridgeAtCampaign: Campaign = {
  name: 'bridge-at',
  description: 'malformed modem AT traffic into the bridge (AtClient + ModemSession) while an LPA sends APDUs',
  defaultIterations: 4096,
  weight: 25,
  episodeLength: BRIDGE_BLOCK,
  unit: 'LPA APDU',
  async run(ctx: CampaignContext) {
    const watchdog = new Watchdog(ANSWER_BOUND_MS);
    let b: Bridge | undefined;
    const stop = (): void => {
      b?.session.dispose();
      b?.at.close();
      b = undefined;
    };
    try {
      // a block: one bridge (started with a healthy modem) lives through ROUNDS rounds of
      // fuzzed modem traffic, each followed by a health check; blocks replay on their own
      for (let block = ctx.from / BRIDGE_BLOCK; block * BRIDGE_BLOCK < ctx.to; block++) {
        const kind: ModemKind = block % 3 === 2 ? 'csim' : 'ccho';
        for (let round = 0; round < ROUNDS; round++) {
          if (Date.now() > ctx.deadline) return;
          const base = block * BRIDGE_BLOCK + round * ROUND;
          const rng = Rng.for(ctx.seed, 'bridge-at', base / ROUND);
          b ??= await startBridge(kind);
          b.modem.healthy = false;
          b.modem.rng = rng;
          b.modem.sent.clear();
          let channel = 0;
          for (let k = 0; k < ROUND && b; k++) {
            const i = base + k;
            ctx.heartbeat(i);
            ctx.stats.count();
            b.modem.silencesLeft = MAX_SILENCES;
            const capdu = hexToBytes(lpaApdu(rng, channel));
            const started = performance.now();
            const readerBefore = b.readerAnswers;
            let r: Uint8Array;
            try {
              r = await watchdog.run(b.session.transmit(capdu));
            } catch (e) {
              if (e instanceof WatchdogTimeout) {
                ctx.stats.hang(i, `LPA APDU not answered within ${e.ms} ms`, shortHex(capdu));
                stop();
                break;
              }
              ctx.stats.crash(i, e, shortHex(capdu));
              continue;
            }
            const ms = performance.now() - started;
            if (r.length < 2) {
              ctx.stats.violation(i, `answer of ${r.length} byte(s)`, shortHex(capdu));
              continue;
            }
            const sw = responseSw(r);
            if (r.length === 2 && RULE_SWS.has(sw)) ctx.stats.reject(`SW ${sw.toString(16).toUpperCase()} (bridge rule)`);
            else if (capdu[1] === 0x70 && sw === 0x9000 && r.length <= 3) ctx.stats.accept(); // virtual channels: the bridge answers MANAGE CHANNEL itself
            else if (b.modem.sent.has(sw)) ctx.stats.accept();
            // a T=0 reader hands a long answer over in 256-byte pieces announced by its own 61xx (6Cxx for a GET RESPONSE asking too much)
            else if (b.readerAnswers > readerBefore && (sw >> 8 === 0x61 || sw >> 8 === 0x6c) && r.length <= 258) ctx.stats.accept();
            else ctx.stats.violation(i, `answer ${toUpperHex(r).slice(-4)} is neither a bridge SW rule nor a card SW the modem sent`, `${shortHex(capdu)} -> ${shortHex(r)}`);
            if (capdu[1] === 0x70 && capdu[2] === 0 && r.length === 3 && sw === 0x9000) channel = r[0]!;
            if (ms > ANSWER_BOUND_MS) ctx.stats.violation(i, `answered after ${Math.round(ms)} ms`, shortHex(capdu));
          }
          if (!b) continue;
          if (b.modem.badWrites.length) {
            ctx.stats.violation(base, `the bridge wrote something else than one command line per write: ${JSON.stringify(b.modem.badWrites.slice(0, 3))}`);
            b.modem.badWrites.length = 0;
          }
          // the modem behaves again: the bridge must serve a fresh LPA sequence
          b.modem.healthy = true;
          await b.modem.quiesce();
          let problem: string | undefined;
          try {
            problem = await watchdog.run(healthCheck(b));
            if (problem) problem = await watchdog.run(healthCheck(b)); // a late answer of the fuzzed modem may spoil one try
          } catch (e) {
            if (!(e instanceof WatchdogTimeout)) throw e;
            problem = `health check not answered within ${e.ms} ms`;
          }
          if (problem) {
            ctx.stats.violation(base + ROUND - 1, `bridge did not recover after the round: ${problem}`);
            await b.modem.quiesce();
            stop();
          }
        }
        if (b) await b.modem.quiesce();
        stop();
      }
    } finally {
      watchdog.stop();
      stop();
    }
  },
};
