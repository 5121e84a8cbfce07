// Deliberate defects for certifying the certifier. A conformance suite is only worth as much
// as the bugs it catches: these switches turn the reference LPA Bridge into the naive ports
// that vendors really write, one defect at a time, so that tests (cli/broken-bridge.test.ts)
// can prove that `bridgelab certify` fails exactly the cases covering each defect and passes
// the others. Every defect is OFF unless named: `startBridge({ defects: ['split-bpp'] })` or
// `bridgelab bridge ... --defect split-bpp` (a flag left out of --help on purpose, documented
// in cli/bridge.ts). A bridge with defects says so on start and traces every time a defect
// acts ('decision' events with what = 'defect:<name>'). Never ship a bridge with one.
//
// What each defect does and which rule it breaks:
//   drop-get-response   card 61xx -> the LPA gets the bare 61xx (data of that answer dropped)
//                       and the bridge answers every GET RESPONSE of the LPA 6D00 itself, so
//                       the LPA cannot recover the data (ETSI TS 102 221 7.3.1.1.4, 7.4.2.2)
//   mangle-61xx         card 61xx -> the LPA gets the data of that answer + 9000; the rest is
//                       never fetched (a truncated answer passed off as complete)
//   split-bpp           a STORE DATA whose +CGLA/+CSIM hex exceeds 255 characters (APDU over
//                       127 bytes, e.g. the 255-byte blocks of a BPP) is re-blocked into two
//                       STORE DATA commands, the first marked "more blocks" (P1 b8 cleared),
//                       same P2 (3GPP TS 27.007 8.43: one APDU per command; GP 11.11 block
//                       numbering). lpac's 120-byte blocks (126-byte APDUs) pass untouched.
//   ignore-allowlist    SELECT by AID of any AID is sent to the modem (+CCHO / +CGLA); the
//                       ISD-R/ECASD allow-list is not enforced (bridge.ts SW rule 6A82)
//   status-word-rewrite every R-APDU whose SW is not 9000 reaches the LPA as a bare 6F00
//                       (card SWs, warnings with data and the bridge's own answers alike;
//                       ISO/IEC 7816-4 5.6, SGP.22 5.7.2)
//   interleave-lpas     a second LPA connecting while one is served is served at once: its
//                       reset closes the first LPA's channels and their APDUs interleave
//   oversized-response  a short command (Ne <= 256) gets the card's whole answer in one
//                       R-APDU, however long (the bridge joins the 61xx chain itself, what
//                       the reference bridge did before its T=0 reader procedure): a PC/SC
//                       LPA's 264-byte buffer overflows (ISO/IEC 7816-3 12.1.3; pcsc-lite
//                       SCARD_E_INSUFFICIENT_BUFFER)
//   drop-channel-bits   the CLA reaches the modem with the logical channel bits cleared
//                       (channel 0) instead of the card channel of the session (ETSI TS 102
//                       221 10.1.1; 3GPP TS 27.007 8.43 with a modem that passes CLA through)
//   drop-le             a short case 4 command goes to the card as case 3: its trailing Le byte
//                       is dropped (ISO/IEC 7816-3 12.1.3: case 4S is header, Lc, data, Le)
//   atr-no-tck          the ATR, which indicates T=15 global bytes, is sent without its TCK
//                       (ISO/IEC 7816-3 8.2.5: TCK is mandatory when any T other than 0 is
//                       indicated); PC/SC stacks refuse such an ATR
// Modem-side defects (the AT line handling of a naive port, 3GPP TS 27.007 / V.250):
//   urc-as-answer       unsolicited result codes arriving while a command runs are taken as
//                       its information lines, and the first line after the command is read
//                       as the answer (27.007 3.1/V.250 5.7: URCs may come at any time)
//   no-echo-handling    ATE0 is sent once at start and never again: after a modem restart the
//                       echo of each command is read as its answer (V.250 6.2.4: the restart
//                       restores E1)
//   no-retry-error      a bare ERROR to +CGLA/+CSIM/+CCHO is final: no retry of the same line
//                       (modems answer a busy SIM with a transient ERROR)
//   leak-channels       MANAGE CHANNEL close, a vpcd reset and an LPA leaving never close the
//                       modem session (no +CCHC, no MANAGE CHANNEL close on +CSIM): the card's
//                       few logical channels run out (27.007 8.46; ETSI TS 102 221 11.1.17)
//   cme-error-as-9000   +CME ERROR to +CGLA/+CSIM reaches the LPA as 9000 with no data instead
//                       of a defined error status word (27.007 9.2; ISO/IEC 7816-4 5.6)
//   truncate-long-answers  only the first 256 bytes of a +CGLA/+CSIM answer are kept (a fixed
//                       512-character response buffer): a longer answer loses its tail and
//                       status word (27.007 8.17/8.43 <length> counts up to 2 x 258)
import { buildCommand, parseCommand, responseData, responseSw, withLe, type CommandApdu } from '../apdu/apdu.ts';
import { decodeCla, withChannel } from '../apdu/channels.ts';
import { formatSw } from '../apdu/sw.ts';
import { concatBytes } from '../bytes.ts';
import { parseAtr } from '../apdu/atr.ts';

export const DEFECT_NAMES = [
  'drop-get-response',
  'mangle-61xx',
  'split-bpp',
  'ignore-allowlist',
  'status-word-rewrite',
  'interleave-lpas',
  'drop-channel-bits',
  'oversized-response',
  'urc-as-answer',
  'no-echo-handling',
  'no-retry-error',
  'leak-channels',
  'cme-error-as-9000',
  'truncate-long-answers',
  'drop-le',
  'atr-no-tck',
] as const;
export type DefectName = (typeof DEFECT_NAMES)[number];

/** One line per defect: what the broken bridge does (shown by `bridgelab bridge` on start). */
export const DEFECT_SUMMARIES: Readonly<Record<DefectName, string>> = {
  'drop-get-response': 'answers the card 61xx to the LPA without its data and refuses the LPA GET RESPONSE (6D00)',
  'mangle-61xx': 'turns the card 61xx into 9000, truncating the answer to its first part',
  'split-bpp': 'splits STORE DATA APDUs over 127 bytes into two STORE DATA blocks',
  'ignore-allowlist': 'opens and selects any AID the LPA asks for',
  'status-word-rewrite': 'answers every status word other than 9000 as a bare 6F00',
  'interleave-lpas': 'serves a second LPA while one is active (its reset closes the first one channels)',
  'drop-channel-bits': 'sends CLA to the modem with channel 0 instead of the card channel',
  'oversized-response': 'answers a short APDU with the whole card answer, over 256 data bytes',
  'urc-as-answer': 'takes URCs arriving during a command as its answer (the first line after the command)',
  'no-echo-handling': 'sends ATE0 once only: after a modem restart the echo is read as the answer',
  'no-retry-error': 'never retries +CGLA/+CSIM/+CCHO after a bare ERROR',
  'leak-channels': 'never closes a modem logical channel session (no +CCHC)',
  'cme-error-as-9000': 'answers +CME ERROR from the modem as 9000',
  'truncate-long-answers': 'keeps only the first 256 bytes of a modem answer (status word included)',
  'drop-le': 'sends a short case 4 command to the card as case 3 (Le dropped)',
  'atr-no-tck': 'sends its ATR without the TCK byte',
};

/** Bytes of a modem answer truncate-long-answers keeps (a 512-character hex buffer). */
export const TRUNCATE_ANSWER_BYTES = 256;

/** How a naive AT line reader treats lines the reference bridge classifies (sim/bridge/at.ts). */
export interface NaiveLineHandling {
  /** URCs during a command are information lines of that command */
  urcsAsResponse: boolean;
  /** echo is an information line; ATE0 is not re-sent after a restart */
  echoAsResponse: boolean;
}

/** Hex characters of the AT APDU field above which split-bpp re-blocks a STORE DATA. */
export const SPLIT_OVER_HEX_CHARS = 255;

const INS_STORE_DATA = 0xe2;
const INS_GET_RESPONSE = 0xc0;
const SW_OK = 0x9000;
const SW_INS_NOT_SUPPORTED = 0x6d00;
const SW_NO_DIAGNOSIS = 0x6f00;
/** a 6Cxx loop longer than this is the card's problem, not the defect's */
const MAX_RESENDS = 8;

export class DefectError extends Error {
  override readonly name = 'DefectError';
}

/** Validate defect names (command line, rig data); duplicates are dropped. */
export function parseDefectNames(names: readonly string[]): DefectName[] {
  const out: DefectName[] = [];
  for (const n of names) {
    if (!(DEFECT_NAMES as readonly string[]).includes(n)) throw new DefectError(`unknown defect '${n}'; known: ${DEFECT_NAMES.join(', ')}`);
    if (!out.includes(n as DefectName)) out.push(n as DefectName);
  }
  return out;
}

export type ApduSend = (capdu: Uint8Array) => Promise<Uint8Array>;

export interface DefectTransmitPaths {
  /** one APDU to the card, no T=0 procedure (one AT command) */
  raw: ApduSend;
  /** one APDU with the bridge's usual procedure (T=0 61xx/6Cxx handling when enabled) */
  usual: ApduSend;
}

const sw = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);

/**
 * The hooks the reference bridge calls at its decision points. With no defect every hook
 * is the identity, and ModemSession / startBridge skip them altogether (`active` false).
 */
export class BridgeDefects {
  private readonly set: ReadonlySet<DefectName>;

  constructor(
    names: readonly DefectName[] = [],
    private readonly onApplied: (name: DefectName, detail: string) => void = () => {},
  ) {
    this.set = new Set(parseDefectNames(names));
  }

  get active(): boolean {
    return this.set.size > 0;
  }

  get names(): DefectName[] {
    return DEFECT_NAMES.filter((n) => this.set.has(n));
  }

  has(name: DefectName): boolean {
    return this.set.has(name);
  }

  /** urc-as-answer / no-echo-handling: how the AT client reads lines. */
  lineHandling(): NaiveLineHandling {
    return { urcsAsResponse: this.set.has('urc-as-answer'), echoAsResponse: this.set.has('no-echo-handling') };
  }

  /** urc-as-answer / no-echo-handling: the first information line is taken as the answer. */
  get firstLineIsAnswer(): boolean {
    return this.set.has('urc-as-answer') || this.set.has('no-echo-handling');
  }

  /** The answer line a naive port reads among `lines` (the careful choice is `careful`). */
  answerLine(lines: readonly string[], careful: string | undefined): string | undefined {
    if (!this.firstLineIsAnswer || lines.length === 0 || lines[0] === careful) return careful;
    const name = this.set.has('urc-as-answer') ? 'urc-as-answer' : 'no-echo-handling';
    this.onApplied(name, `first line '${lines[0]!.slice(0, 40)}' read as the answer${careful ? ` instead of '${careful.slice(0, 40)}'` : ''}`);
    return lines[0];
  }

  /** no-retry-error: the retries of a command after a bare ERROR. */
  retries(careful: number): number {
    return this.set.has('no-retry-error') ? 0 : careful;
  }

  /** no-retry-error: a bare ERROR that the careful bridge would have retried. */
  noteNoRetry(line: string): void {
    if (this.set.has('no-retry-error')) this.onApplied('no-retry-error', `${line.slice(0, 32)}... answered ERROR: not retried`);
  }

  /** leak-channels: true when the modem side of a closing channel is kept open. */
  leakChannel(what: string): boolean {
    if (!this.set.has('leak-channels')) return false;
    this.onApplied('leak-channels', `${what}: modem session left open`);
    return true;
  }

  /** cme-error-as-9000: the answer given instead of the error status word for `final`. */
  cmeErrorAnswer(final: string): Uint8Array | undefined {
    if (!this.set.has('cme-error-as-9000')) return undefined;
    this.onApplied('cme-error-as-9000', `${final} answered 9000`);
    return sw(SW_OK);
  }

  /** truncate-long-answers: the part of a modem answer the naive buffer keeps. */
  truncateAnswer(rapdu: Uint8Array): Uint8Array {
    if (!this.set.has('truncate-long-answers') || rapdu.length <= TRUNCATE_ANSWER_BYTES) return rapdu;
    this.onApplied('truncate-long-answers', `answer of ${rapdu.length} bytes cut to its first ${TRUNCATE_ANSWER_BYTES}`);
    return rapdu.slice(0, TRUNCATE_ANSWER_BYTES);
  }

  /** ignore-allowlist: the SELECT of `aidHex` is let through although it is not allowed. */
  letThroughForeignAid(aidHex: string): boolean {
    if (!this.set.has('ignore-allowlist')) return false;
    this.onApplied('ignore-allowlist', `SELECT of AID ${aidHex} outside the allow-list sent to the modem`);
    return true;
  }

  /** drop-get-response: an answer the bridge gives instead of forwarding `cmd`, if any. */
  answerInstead(cmd: CommandApdu): Uint8Array | undefined {
    if (this.set.has('drop-get-response') && cmd.ins === INS_GET_RESPONSE) {
      this.onApplied('drop-get-response', `GET RESPONSE from the LPA answered ${formatSw(SW_INS_NOT_SUPPORTED)} by the bridge`);
      return sw(SW_INS_NOT_SUPPORTED);
    }
    return undefined;
  }

  /** drop-channel-bits: the CLA sent to the modem instead of the remapped `cardCla`. */
  cardCla(lpaCla: number, cardCla: number): number {
    if (!this.set.has('drop-channel-bits')) return cardCla;
    const info = decodeCla(lpaCla);
    if (!info.structured) return cardCla;
    const cleared = withChannel(lpaCla, 0);
    if (cleared !== cardCla) this.onApplied('drop-channel-bits', `CLA ${hex2(lpaCla)} sent as ${hex2(cleared)} instead of ${hex2(cardCla)}`);
    return cleared;
  }

  /** atr-no-tck: the ATR the bridge announces instead of `atr`. */
  announcedAtr(atr: Uint8Array): Uint8Array {
    if (!this.set.has('atr-no-tck') || !atrHasTck(atr)) return atr;
    this.onApplied('atr-no-tck', `ATR sent without its TCK ${hex2(atr[atr.length - 1]!)}`);
    return atr.slice(0, -1);
  }

  /** One LPA APDU (CLA already rewritten) towards the card: drop-le, split-bpp, drop-get-response, mangle-61xx. */
  async transmit(capdu: Uint8Array, paths: DefectTransmitPaths): Promise<Uint8Array> {
    const pieces = this.split(this.dropLe(capdu));
    let r: Uint8Array = sw(SW_NO_DIAGNOSIS);
    for (const piece of pieces) r = await this.oneApdu(piece, paths);
    return r;
  }

  /** status-word-rewrite: the R-APDU the LPA gets instead of `rapdu`. */
  rewriteAnswer(rapdu: Uint8Array): Uint8Array {
    if (!this.set.has('status-word-rewrite') || rapdu.length < 2) return rapdu;
    const s = responseSw(rapdu);
    if (s === SW_OK) return rapdu;
    this.onApplied('status-word-rewrite', `${formatSw(s)}${rapdu.length > 2 ? ` with ${rapdu.length - 2} data bytes` : ''} answered as ${formatSw(SW_NO_DIAGNOSIS)}`);
    return sw(SW_NO_DIAGNOSIS);
  }

  /** oversized-response: a short command got `bytes` data bytes in one R-APDU. */
  oversizedAnswer(channel: number, bytes: number): void {
    if (this.set.has('oversized-response')) this.onApplied('oversized-response', `channel ${channel}: ${bytes} data bytes in one R-APDU for a short command`);
  }

  /** interleave-lpas: serve `peer` although `activePeer` is being served. */
  serveConcurrently(peer: string, activePeer: string | undefined): boolean {
    if (!this.set.has('interleave-lpas')) return false;
    this.onApplied('interleave-lpas', `LPA ${peer} served while LPA ${activePeer ?? '?'} is active`);
    return true;
  }

  private dropLe(capdu: Uint8Array): Uint8Array {
    if (!this.set.has('drop-le') || capdu.length < 6 || capdu[4] === 0 || capdu.length !== 5 + capdu[4]! + 1) return capdu;
    this.onApplied('drop-le', `case 4 command of ${capdu.length} bytes sent without its Le ${hex2(capdu[capdu.length - 1]!)}`);
    return capdu.slice(0, -1);
  }

  private split(capdu: Uint8Array): Uint8Array[] {
    if (!this.set.has('split-bpp') || capdu.length * 2 <= SPLIT_OVER_HEX_CHARS || capdu[1] !== INS_STORE_DATA) return [capdu];
    let cmd: CommandApdu;
    try {
      cmd = parseCommand(capdu);
    } catch (err) {
      // a malformed STORE DATA goes out whole: the naive port only re-blocks what it can parse
      this.onApplied('split-bpp', `STORE DATA of ${capdu.length} bytes not split: ${(err as Error).message}`);
      return [capdu];
    }
    if (cmd.data.length < 2) return [capdu];
    const half = Math.ceil(cmd.data.length / 2);
    const first = buildCommand({ cla: cmd.cla, ins: cmd.ins, p1: cmd.p1 & 0x7f, p2: cmd.p2, data: cmd.data.subarray(0, half) });
    const second = buildCommand({ cla: cmd.cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: cmd.data.subarray(half), ...(cmd.le !== undefined ? { le: Math.min(cmd.le, 256) } : {}) });
    this.onApplied('split-bpp', `STORE DATA of ${capdu.length} bytes (${capdu.length * 2} hex characters) sent as two blocks of ${first.length} and ${second.length} bytes`);
    return [first, second];
  }

  private async oneApdu(capdu: Uint8Array, paths: DefectTransmitPaths): Promise<Uint8Array> {
    const drop = this.set.has('drop-get-response');
    const mangle = this.set.has('mangle-61xx');
    if (!drop && !mangle) return paths.usual(capdu);
    let command = capdu;
    for (let resends = 0; ; resends++) {
      const r = await paths.raw(command);
      const s = responseSw(r);
      if (s >> 8 === 0x6c && resends < MAX_RESENDS) {
        command = withLe(command, (s & 0xff) === 0 ? 256 : s & 0xff);
        continue;
      }
      if (s >> 8 !== 0x61) return r;
      const data = responseData(r);
      if (drop) {
        this.onApplied('drop-get-response', `card ${formatSw(s)} passed on without its ${data.length} data bytes and without GET RESPONSE`);
        return sw(s);
      }
      this.onApplied('mangle-61xx', `card ${formatSw(s)} answered as ${data.length} data bytes + 9000; the remaining data never fetched`);
      return concatBytes(data, sw(SW_OK));
    }
  }
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function atrHasTck(atr: Uint8Array): boolean {
  try {
    return parseAtr(atr).tck !== undefined;
  } catch {
    return false;
  }
}
