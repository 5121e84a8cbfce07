// Published AT transcripts replayed against the personality that claims their modem: the
// fake modem must answer every logged exchange the same way (transcript.ts defines the
// comparison), and the comparison itself catches the differences it is meant to catch.
import { describe, expect, it } from 'vitest';
import { ModemEngine } from './engine.ts';
import { listPersonalities, loadPersonality } from './personality.ts';
import { AtClient } from './testing/at-client.ts';
import { FakeCard, type FakeCardOptions } from './testing/fake-card.ts';
import { commandLine, compareExchange, compareUrcs, loadTranscripts, parseTranscript, type StoredTranscript, TranscriptError } from './transcript.ts';

const transcripts = loadTranscripts();

function cardFor(t: StoredTranscript): FakeCard {
  const c = t.card;
  const opts: FakeCardOptions = { t0: c.t0 ?? false, euicc: c.euicc ?? true, usim: c.usim ?? true };
  if (c.storeData === 'empty') opts.storeDataResponse = () => new Uint8Array(0);
  else if (typeof c.storeData === 'number') {
    const n = c.storeData;
    opts.storeDataResponse = () => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
  }
  return new FakeCard(opts);
}

describe('stored transcripts', () => {
  it('there are transcripts for at least ten of the personalities, each naming a bundled personality and a public source', () => {
    expect(transcripts.length).toBeGreaterThanOrEqual(12);
    for (const t of transcripts) expect(listPersonalities(), t.file).toContain(t.personality);
    expect(new Set(transcripts.map((t) => t.personality)).size).toBeGreaterThanOrEqual(10);
  });

  describe.each(transcripts.map((t) => [t.file.split('/').pop() as string, t] as const))('%s', (_name, t) => {
    it(`${t.personality} answers as ${t.module} did in ${t.source}`, async () => {
      const personality = loadPersonality(t.personality);
      const card = cardFor(t);
      const urcs: string[] = [];
      let at: AtClient | undefined;
      const engine = new ModemEngine({ personality, transport: card, output: (b) => at?.feed(b), timeScale: 0, onTrace: (e) => e.kind === 'urc' && urcs.push(e.text) });
      at = new AtClient((b) => engine.receive(b), { lineEnding: personality.format.lineEnding });
      try {
        if (t.bootUrcs) {
          await engine.restart('power on');
          expect(compareUrcs(t.bootUrcs, urcs)).toEqual([]);
          at.take();
        }
        if (t.echo === 'unknown') await at.command('ATE0');
        for (const s of t.setup) await at.command(s.send);
        const echo = t.echo === true;
        if (t.echo !== 'unknown') expect(engine.state().echo, 'echo as the log shows it').toBe(echo);
        for (const e of t.exchanges) {
          const raw = await at.command(commandLine(e), { timeoutMs: 2000 });
          expect(compareExchange(e, raw, echo), `${e.send} -> ${JSON.stringify(raw)}`).toEqual([]);
        }
      } finally {
        engine.close();
      }
    });
  });
});

describe('the comparison', () => {
  const ex = (expect_: string[], compare: 'exact' | 'form' = 'form', send = 'AT+CGLA=1,16,"81E2910003BF3C00"') => ({ send, expect: expect_, compare });

  it('form: prefix and space after the colon, <len> counting hex characters, hex letter case, handles, numbers', () => {
    const e = ex(['+CGLA:4,"611A"', 'OK']);
    expect(compareExchange(e, '\r\n+CGLA:10,"BF3C009000"\r\n\r\nOK\r\n', false)).toEqual([]);
    expect(compareExchange(e, '\r\n+CGLA: 4,"611A"\r\n\r\nOK\r\n', false)).toEqual(['line 1: expected the form "+CGLA:<n>,\\"<hex>\\"" ("+CGLA:4,\\"611A\\""), got "+CGLA: <n>,\\"<hex>\\"" ("+CGLA: 4,\\"611A\\"")']);
    expect(compareExchange(e, '\r\n+CGLA:2,"611A"\r\n\r\nOK\r\n', false)).toEqual(['line 1: length 2 does not count the 4 hex characters of "611A"']);
    expect(compareExchange(e, '\r\n+CGLA:4,"611a"\r\n\r\nOK\r\n', false)).toEqual(['line 1: hex letters in lower case, the log shows upper case']);
    expect(compareExchange(e, '\r\n+CGLA:4,"6119"\r\n\r\nOK\r\n', false)).toEqual([]); // digits only fits either case
    const handle = ex(['+CCHO: 000000000385a7cf', 'OK'], 'form', 'AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    expect(compareExchange(handle, '\r\n+CCHO: 0000000053698a6a\r\n\r\nOK\r\n', false)).toEqual([]);
    expect(compareExchange(handle, '\r\n+CCHO: 1\r\n\r\nOK\r\n', false)).toEqual(['line 1: expected the form "+CCHO: <handle16>" ("+CCHO: 000000000385a7cf"), got "+CCHO: <n>" ("+CCHO: 1")']);
    const bare = ex(['', '1', '', 'OK'], 'form', 'AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    expect(compareExchange(bare, '\r\n2\r\n\r\nOK\r\n', false)).toEqual([]);
    expect(compareExchange(bare, '\r\n+CCHO: 2\r\n\r\nOK\r\n', false)).toEqual(['line 1: expected the form "<n>" ("1"), got "+CCHO: <n>" ("+CCHO: 2")']);
  });

  it('final result codes, line counts, echo and exact lines ({{imei}} for any 15 digits)', () => {
    expect(compareExchange(ex(['ERROR'], 'exact', 'AT+CCHO=?'), '\r\nOK\r\n', false)).toEqual(['final result code: expected "ERROR", got "OK"']);
    expect(compareExchange(ex(['+CME ERROR: 13'], 'exact', 'AT+CSIM=10,"0070000000"'), '\r\nERROR\r\n', false)).toEqual(['final result code: expected "+CME ERROR: 13", got "ERROR"']);
    expect(compareExchange(ex(['Quectel', 'OK'], 'exact', 'AT+CGMI'), '\r\nOK\r\n', false)).toEqual(['expected 1 information line(s) ["Quectel"], got 0 []']);
    expect(compareExchange(ex(['Quectel', 'OK'], 'exact', 'AT+CGMI'), 'AT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n', true)).toEqual([]);
    expect(compareExchange(ex(['Quectel', 'OK'], 'exact', 'AT+CGMI'), '\r\nQuectel\r\n\r\nOK\r\n', true)).toEqual(['expected the echo "AT+CGMI", got "Quectel"']);
    expect(compareExchange(ex(['Quectel', 'OK'], 'exact', 'AT+CGMI'), 'AT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n', false)).toEqual(['the modem echoes the command; the log shows no echo']);
    const imei = ex(['IMEI: {{imei}}', 'OK'], 'exact', 'AT+SIMCOMATI');
    expect(compareExchange(imei, '\r\nIMEI: 862770000000013\r\n\r\nOK\r\n', false)).toEqual([]);
    expect(compareExchange(imei, '\r\nIMEI: 8627\r\n\r\nOK\r\n', false)).toEqual(['line 1: expected "IMEI: {{imei}}", got "IMEI: 8627"']);
  });

  it('URCs are compared as a subsequence in the logged order; {{fill:N}} expands to N hex zeros', () => {
    expect(compareUrcs(['+CPIN: READY', 'PB DONE'], ['*ATREADY: 1', '+CPIN: READY', 'SMS DONE', 'PB DONE'])).toEqual([]);
    expect(compareUrcs(['PB DONE', '+CPIN: READY'], ['+CPIN: READY', 'PB DONE'])).toEqual(['URC "+CPIN: READY" (and those after it) missing from ["+CPIN: READY","PB DONE"] in the logged order ["PB DONE","+CPIN: READY"]']);
    expect(commandLine({ send: 'AT+CSIM=14,"81E2{{fill:10}}"', expect: ['OK'], compare: 'form' })).toBe('AT+CSIM=14,"81E20000000000"');
  });

  it('a malformed transcript is refused with the field', () => {
    expect(() => parseTranscript({ source: 'http://x', module: 'Mod', personality: 'seiko', summary: 'a summary that is long enough', echo: true, exchanges: [] }, 'f.json')).toThrow(TranscriptError);
    expect(() => parseTranscript({ source: 'https://example.org/x', module: 'Mod', personality: 'seiko', summary: 'a summary that is long enough', echo: true }, 'f.json')).toThrow('f.json: a transcript needs exchanges or bootUrcs');
    expect(() => parseTranscript({ source: 'https://example.org/x', module: 'Mod', personality: 'seiko', summary: 'a summary that is long enough', echo: true, exchanges: [{ send: 'AT', expect: ['OK'], compare: 'loose' }] }, 'f.json')).toThrow(/^f\.json: exchanges\.0\.compare: /);
  });
});
