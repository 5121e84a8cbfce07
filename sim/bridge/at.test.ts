// AtClient against a scripted responder (exact bytes on the wire) and against the
// virtual modems of sim/modem: one write per command, echo, URCs inside responses,
// verbose errors, timeouts with late answers, retries, restarts, a port that goes away.
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AtClient, AtCommandError, AtTimeoutError, parseFinal, type AtRebootEvent, type AtTraceEvent } from './at.ts';
import { modemRig, type ModemRig } from '../modem/testing/modem-rig.ts';
import { ok, ScriptedPort } from './testing/scripted-port.ts';

/** A responder that answers ATE0/AT+CMEE=1/AT+CMEE? and delegates the rest. */
function scripted(rest: (line: string, port: ScriptedPort) => void): ScriptedPort {
  return new ScriptedPort((line, p) => {
    if (line === 'ATE0' || line === 'AT+CMEE=1') p.reply(ok());
    else if (line === 'AT+CMEE?') p.reply(ok('+CMEE: 1'));
    else rest(line, p);
  });
}

const cglaOk = (l: string): boolean => /^\+CGLA:\s*\d+,"[0-9A-F]*"$/i.test(l) && Number(/\d+/.exec(l)![0]) === /"(.*)"/.exec(l)![1]!.length;

describe('parseFinal', () => {
  it('knows OK, ERROR and +CME ERROR in numeric and verbose form', () => {
    expect(parseFinal('OK')).toEqual({ kind: 'ok' });
    expect(parseFinal('ERROR')).toEqual({ kind: 'error' });
    expect(parseFinal('+CME ERROR: 13')).toEqual({ kind: 'cme', code: 13, text: '13' });
    expect(parseFinal('+CME ERROR:14')).toEqual({ kind: 'cme', code: 14, text: '14' });
    expect(parseFinal('+CME ERROR: SIM failure')).toEqual({ kind: 'cme', code: 13, text: 'SIM failure' });
    expect(parseFinal('+CME ERROR: operation not supported')).toEqual({ kind: 'cme', code: 4, text: 'operation not supported' });
    expect(parseFinal('+CMS ERROR: 500')).toEqual({ kind: 'cms', code: 500, text: '500' });
    expect(parseFinal('+CGLA: 4,"9000"')).toBeUndefined();
  });
});

describe('AtClient on a scripted modem', () => {
  const clients: AtClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  const client = (port: Duplex, trace?: AtTraceEvent[], opts: ConstructorParameters<typeof AtClient>[1] = {}): AtClient => {
    const c = new AtClient(port, { probeTimeoutMs: 100, commandTimeoutMs: 300, probeIntervalMs: 10, rebootWaitMs: 2000, onTrace: (e) => trace?.push(e), ...opts });
    clients.push(c);
    return c;
  };

  it('writes each command line in one write ending in CR, and ignores its echo', async () => {
    const port = scripted((line, p) => p.reply(`${line}\r` + (line === 'ATI' ? ok('Quectel', 'EC25') : ok())));
    const at = client(port);
    await at.init();
    expect(await at.command('ATI')).toEqual(['Quectel', 'EC25']);
    expect(port.writes).toEqual(['AT+CMEE?\r', 'ATE0\r', 'AT+CMEE=1\r', 'ATI\r']);
  });

  it('takes URCs out of a response, even from the middle of a line, and re-joins the line', async () => {
    const urcs: string[] = [];
    const port = scripted((_line, p) => p.reply('\r\n+CGLA: 4,"90\r\n+QIND: SMS DONE\r\n00"\r\n\r\nRDY\r\n\r\nOK\r\n'));
    const at = client(port);
    await at.init();
    at.onUrc((u) => urcs.push(u));
    const r = await at.send('AT+CGLA=1,8,"80CA005A"', { complete: cglaOk });
    expect(r.lines).toEqual(['+CGLA: 4,"9000"']);
    expect(r.final).toEqual({ kind: 'ok' });
    expect(urcs).toEqual(['+QIND: SMS DONE', 'RDY']);
  });

  it('re-joins a final result code split by a URC', async () => {
    const port = scripted((_line, p) => p.reply('\r\n+CCHO: 1\r\n\r\nO\r\n+CPIN: READY\r\nK\r\n'));
    const at = client(port);
    await at.init();
    expect(await at.command('AT+CCHO="A0000005591010FFFFFFFF8900000100"')).toEqual(['+CCHO: 1']);
  });

  it('keeps lines with the command prefix as responses (AT+CPIN? answers +CPIN: READY)', async () => {
    const port = scripted((_line, p) => p.reply(ok('+CPIN: READY')));
    const at = client(port);
    await at.init();
    expect(await at.command('AT+CPIN?')).toEqual(['+CPIN: READY']);
  });

  it('reports ERROR and +CME ERROR as AtCommandError with the parsed code', async () => {
    const port = scripted((line, p) => p.reply(line === 'AT+CCHO="A0"' ? '\r\n+CME ERROR: SIM failure\r\n' : '\r\nERROR\r\n'));
    const at = client(port);
    await at.init();
    const e1 = await at.command('AT+CCHO="A0"').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AtCommandError);
    expect((e1 as AtCommandError).final).toEqual({ kind: 'cme', code: 13, text: 'SIM failure' });
    const e2 = await at.command('AT+FOO').catch((e: unknown) => e);
    expect((e2 as AtCommandError).final).toEqual({ kind: 'error' });
  });

  it('retries after a bare ERROR (not after +CME ERROR) with the configured pause', async () => {
    let n = 0;
    const port = scripted((line, p) => {
      if (line.startsWith('AT+CGLA')) p.reply(++n === 1 ? '\r\nERROR\r\n' : ok('+CGLA: 4,"9000"'));
      else p.reply('\r\n+CME ERROR: 14\r\n');
    });
    const at = client(port);
    await at.init();
    const t0 = Date.now();
    const r = await at.send('AT+CGLA=1,8,"80E29100"', { retries: 2, retryDelayMs: 60 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(r).toMatchObject({ attempts: 2, final: { kind: 'ok' }, lines: ['+CGLA: 4,"9000"'] });
    const c = await at.send('AT+CCHO="A0"', { retries: 2 });
    expect(c).toMatchObject({ attempts: 1, final: { kind: 'cme', code: 14 } });
  });

  it('times out, then resynchronises so a late answer is not taken for the next command', async () => {
    const port = scripted((line, p) => {
      if (line === 'AT+SLOW') setTimeout(() => p.reply(ok('LATE')), 250);
      else if (line === 'AT+NEXT') p.reply(ok('NEXT'));
    });
    const trace: AtTraceEvent[] = [];
    const at = client(port, trace, { probeTimeoutMs: 600 });
    await at.init();
    // from now on the resynchronisation probe is answered after the late answer arrived
    const answer = port.onLine;
    port.onLine = (line, p) => (line === 'AT+CMEE?' ? setTimeout(() => answer(line, p), 200) : answer(line, p));
    const e = await at.send('AT+SLOW', { timeoutMs: 150 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AtTimeoutError);
    expect((e as AtTimeoutError).message).toContain('AT+SLOW: no final result code within 150 ms');
    expect(await at.command('AT+NEXT')).toEqual(['NEXT']);
    expect(trace.filter((t) => t.type === 'at-rx' && t.role === 'stale').map((t) => (t as { line: string }).line)).toEqual(['LATE', 'OK']);
  });

  it('detects a restart by RDY and by the echo coming back, counts it once, and re-initialises', async () => {
    let echo = false;
    const port = new ScriptedPort();
    port.onLine = (line, p) => {
      const e = echo ? `${line}\r` : '';
      if (line === 'ATE0') {
        p.reply(e + ok());
        echo = false;
      } else if (line === 'AT+CMEE?') p.reply(e + ok('+CMEE: 1'));
      else p.reply(e + ok());
    };
    const reboots: AtRebootEvent[] = [];
    const at = client(port);
    at.onReboot((r) => reboots.push(r));
    await at.init();
    echo = true; // the modem restarted: echo on again
    port.reply('\r\nRDY\r\n');
    await at.command('AT');
    expect(reboots).toEqual([{ reason: 'RDY', certain: true, detail: "URC 'RDY'" }]);
    expect(port.writes.slice(-3)).toEqual(['ATE0\r', 'AT+CMEE=1\r', 'AT\r']);
    // a restart without RDY: only the echo tells
    echo = true;
    await at.command('AT+CSQ');
    expect(reboots.map((r) => r.reason)).toEqual(['RDY', 'echo']);
    await at.command('AT');
    expect(port.writes.slice(-3)).toEqual(['ATE0\r', 'AT+CMEE=1\r', 'AT\r']);
    expect(at.rebootCount).toBe(2);
  });

  it('treats a long silence as an uncertain restart', async () => {
    let deaf = false;
    const port = scripted((_line, p) => {
      if (!deaf) p.reply(ok());
    });
    const at = client(port);
    const reboots: AtRebootEvent[] = [];
    at.onReboot((r) => reboots.push(r));
    await at.init();
    deaf = true;
    const origOnLine = port.onLine;
    let probes = 0;
    port.onLine = (line, p) => {
      if (line === 'AT+CMEE?' && ++probes >= 3) deaf = false;
      if (line === 'AT+CMEE?' && deaf) return;
      origOnLine(line, p);
    };
    await expect(at.command('AT+X', { timeoutMs: 100 })).rejects.toBeInstanceOf(AtTimeoutError);
    await at.command('AT');
    expect(reboots).toEqual([{ reason: 'no-answer', certain: false, detail: 'modem did not answer for 2 probe(s)' }]);
  });

  it('reopens a port that closed (USB modem re-enumerating) and re-initialises', async () => {
    const first = scripted((_l, p) => p.reply(ok()));
    const second = scripted((_l, p) => p.reply(ok('AGAIN')));
    const at = client(first, undefined, { reopen: async () => second });
    const reboots: AtRebootEvent[] = [];
    at.onReboot((r) => reboots.push(r));
    await at.init();
    first.destroy();
    await new Promise((r) => setImmediate(r));
    expect(await at.command('ATI')).toEqual(['AGAIN']);
    expect(reboots.map((r) => r.reason)).toEqual(['port-closed']);
    expect(second.writes).toEqual(['AT+CMEE?\r', 'ATE0\r', 'AT+CMEE=1\r', 'ATI\r']);
  });
});

describe('AtClient on virtual modems (sim/modem)', () => {
  let rig: ModemRig | undefined;
  let at: AtClient | undefined;
  afterEach(async () => {
    at?.close();
    await rig?.close();
    rig = undefined;
    at = undefined;
  });

  it('EC25: one write per command line, even at 115200 baud with a 261-byte APDU', async () => {
    rig = modemRig('quectel-ec25j', { baud: 115200 });
    at = new AtClient(await rig.openPort());
    await at.init();
    await at.command('AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    const apdu = '81E21100FF' + 'AB'.repeat(255) + '00';
    const r = await at.send(`AT+CGLA=1,${apdu.length},"${apdu}"`);
    expect(r.final).toEqual({ kind: 'ok' });
    for (const w of rig.writes) expect(w.indexOf('\r')).toBe(w.length - 1);
    expect(rig.writes.at(-1)).toBe(`AT+CGLA=1,${apdu.length},"${apdu}"\r`);
  });

  it('EC25: a URC injected in the middle of +CGLA is taken out and the line re-joined', async () => {
    rig = modemRig('quectel-ec25j');
    at = new AtClient(await rig.openPort());
    const urcs: string[] = [];
    at.onUrc((u) => urcs.push(u));
    await at.init();
    await at.command('AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    rig.modem.faults.injectUrcInNextResponse('+QIND: SMS DONE');
    const r = await at.send('AT+CGLA=1,22,"81E2910006BF3E035C015A"', { complete: cglaOk });
    expect(r.lines).toEqual(['+CGLA: 16,"BF3E035C015A9000"']);
    expect(urcs).toEqual(['+QIND: SMS DONE']);
  });

  it('EC25: after a restart the echo is back; the client notices, ignores it and sends ATE0 again', async () => {
    rig = modemRig('quectel-ec25j', { timeScale: 0.001 });
    const trace: AtTraceEvent[] = [];
    at = new AtClient(await rig.openPort(), { onTrace: (e) => trace.push(e), probeTimeoutMs: 200, probeIntervalMs: 10 });
    const reboots: string[] = [];
    at.onReboot((r) => reboots.push(r.reason));
    await at.init();
    // the modem comes back with echo on and says RDY; the client may restore ATE0 at the URC already
    await rig.modem.faults.reboot();
    // the first command may still meet the restart (its RDY, then its echo); the next one finds the client re-initialised
    await at.command('AT');
    await at.command('AT');
    expect(reboots).toEqual(['RDY']);
    expect(trace.some((e) => e.type === 'at-rx' && e.role === 'echo' && e.line === 'AT')).toBe(true);
    expect(rig.modem.state().echo).toBe(false);
    expect(rig.lines().slice(-3)).toEqual(['ATE0', 'AT+CMEE=1', 'AT']);
  });

  it('verbose +CME ERROR texts (CMEE=2) parse to their numbers', async () => {
    rig = modemRig('quectel-ec25j', { card: { euicc: false } });
    at = new AtClient(await rig.openPort());
    // no init(): the client does not set +CMEE=1 again
    const r = await at.send('AT+CMEE=2');
    expect(r.final).toEqual({ kind: 'ok' });
    const e = await at.send('AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    expect(e.final).toEqual({ kind: 'cme', code: 13, text: 'SIM failure' });
  });
});
