import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hexToBytes } from '../bytes.ts';
import { tapTransport, Trace, writeTrace } from './trace.ts';
import { gsmtapPacket, GSMTAP_PORT } from './gsmtap.ts';
import { writeTraceWithLines } from './trace.ts';

describe('trace', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-trace-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds GSMTAP v2 SIM packets in IPv4/UDP to port 4729', () => {
    const p = gsmtapPacket(4, 0, hexToBytes('00a4040000' + '9000'));
    expect(p[0]).toBe(0x45);
    expect(p[9]).toBe(17);
    expect((p[22]! << 8) | p[23]!).toBe(GSMTAP_PORT);
    expect([...p.subarray(28, 31)]).toEqual([2, 4, 4]); // version, hdr len, type SIM
    expect(p.length).toBe(20 + 8 + 16 + 7);
  });

  it('taps a transport and writes logs, JSON lines and a pcap', async () => {
    const trace = new Trace();
    const inner = {
      transmit: async (c: Uint8Array) => (c[1] === 0xa4 ? hexToBytes('9000') : Promise.reject(new Error('card removed'))),
      reset: async () => hexToBytes('3b00'),
      close: async () => {},
    };
    const t = tapTransport(inner, trace, 'lpa-bridge');
    await t.reset();
    await t.transmit(hexToBytes('00a4040010a0000005591010ffffffff8900000100'));
    await expect(t.transmit(hexToBytes('80e2910000'))).rejects.toThrow('card removed');
    trace.add({ kind: 'at', direction: 'to-modem', line: 'AT+CSIM=10,"80E2910000"' });
    const files = writeTrace(trace, join(dir, 'case'));
    const log = readFileSync(files.apduLog, 'utf8');
    expect(log).toMatch(/lpa-bridge >> 00a4040010a0000005591010ffffffff8900000100/);
    expect(log).toMatch(/lpa-bridge << 9000/);
    expect(log).toMatch(/!! card removed/);
    expect(readFileSync(files.atLog, 'utf8')).toMatch(/>> AT\+CSIM/);
    expect(readFileSync(files.events, 'utf8').trim().split('\n')).toHaveLength(4);
    const pcap = readFileSync(files.pcap);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(101);
  });

  it('marks where each step begins and ends and tells which lines of each log a step wrote', () => {
    const trace = new Trace();
    trace.add({ kind: 'at', direction: 'from-modem', line: 'RDY' });
    trace.begin('LPA connected');
    trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes('0070000001'), response: hexToBytes('019000'), ms: 1 });
    trace.end('LPA connected');
    trace.begin('send GetEID', 1);
    trace.add({ kind: 'at', direction: 'to-modem', line: 'AT+CGLA=1,22,"81E2910006BF3E035C015A00"' });
    // a modem answer is one line of at.log (CR/LF shown as \r\n)
    trace.add({ kind: 'at', direction: 'from-modem', line: '+CGLA: 4,"6120"\r\n\r\nOK' });
    trace.log('bridge', '{"type":"decision","what":"t0"}');
    trace.log('lpa', 'not bridge output');
    trace.end('send GetEID', 1);
    trace.begin('look at the card hop', 2);
    trace.end('look at the card hop', 2);
    const files = writeTrace(trace, dir);
    expect(files.stepLines).toEqual({ 1: { atLog: { from: 5, to: 6 }, bridgeLog: { from: 4, to: 4 } } });
    const at = readFileSync(files.atLog, 'utf8').split('\n');
    expect(at.slice(0, 9)).toEqual([
      expect.stringMatching(/<< RDY$/),
      '=== initial condition: LPA connected',
      '=== end of initial condition',
      '=== step 1: send GetEID',
      expect.stringMatching(/>> AT\+CGLA=1,22,/),
      expect.stringMatching(/<< \+CGLA: 4,"6120"\\r\\n\\r\\nOK$/),
      '=== end of step 1',
      '=== step 2: look at the card hop',
      '=== end of step 2',
    ]);
    expect(readFileSync(files.bridgeLog, 'utf8').split('\n')[3]).toMatch(/\{"type":"decision","what":"t0"\}$/);
    expect(readFileSync(files.apduLog, 'utf8')).toMatch(/^=== initial condition: LPA connected\n.*lpa-bridge >> 0070000001\n.*<< 019000/);
  });

  it('maps every event to its lines in the text logs, one line per AT response', () => {
    const trace = new Trace();
    trace.add({ kind: 'at', direction: 'to-modem', line: 'AT+CCHO="A0000005591010FFFFFFFF8900000100"' });
    trace.add({ kind: 'at', direction: 'from-modem', line: '+CCHO: 1\r\n\r\nOK' });
    trace.log('vpcd', 'control reset');
    trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes('81e2910006bf3e035c015a'), response: hexToBytes('6121'), ms: 1 });
    trace.add({ kind: 'http', method: 'POST', url: '/gsma/rsp2/es9plus/initiateAuthentication', status: 200, request: '{}', response: '{}', ms: 3 });
    const { files, eventLines } = writeTraceWithLines(trace, join(dir, 'lines'));
    expect(eventLines).toEqual([
      { log: 'atLog', from: 1, to: 1 },
      { log: 'atLog', from: 2, to: 2 },
      undefined,
      { log: 'apduLog', from: 1, to: 2 },
      { log: 'httpLog', from: 1, to: 3 },
    ]);
    expect(readFileSync(files.atLog, 'utf8').split('\n')[1]).toMatch(/<< \+CCHO: 1\\r\\n\\r\\nOK$/);
  });

  it('produces a pcap that tshark decodes as GSM SIM APDUs', (ctx) => {
    const which = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) {
      if (process.env.CI) throw new Error('tshark is required in CI (.ci/run installs it)');
      ctx.skip();
    }
    const trace = new Trace();
    trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes('00a4040010a0000005591010ffffffff8900000100'), response: hexToBytes('9000'), ms: 1 });
    trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes('81e2910006bf3e035c015a'), response: hexToBytes('bf3e125a10890490321234512345123456789012359000'), ms: 1 });
    const files = writeTrace(trace, dir);
    const r = spawnSync('tshark', ['-r', files.pcap, '-d', 'udp.port==4729,gsmtap', '-V'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/GSM SIM 11\.11|GSM SIM|gsm_sim/i);
    expect(r.stdout).toMatch(/SELECT/);
  });
});
