import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hexToBytes } from '../bytes.ts';
import { HOP_ADDRESSES, osmocoreLogPayload, simFrameProblem, SOURCE_FILE } from './gsmtap.ts';
import { Trace, writeTrace } from './trace.ts';

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function haveTshark(skip: () => void): void {
  if (spawnSync('tshark', ['--version']).status === 0) return;
  if (process.env.CI) throw new Error('tshark is required in CI (.ci/run installs it)');
  skip();
}

describe('GSMTAP records', () => {
  it('lays out a libosmocore log record as Wireshark reads it (ident, level, subsystem, source line, text)', () => {
    const p = osmocoreLogPayload(1_700_000_000_123, 'lpa-bridge', 3, 'ATR 3b00', { file: 'apdu.log', line: 7 });
    const dv = new DataView(p.buffer);
    expect(dv.getUint32(0)).toBe(1_700_000_000);
    expect(dv.getUint32(4)).toBe(123_000);
    expect(new TextDecoder().decode(p.subarray(8, 17))).toBe('bridgelab');
    expect(p[28]).toBe(3);
    expect(new TextDecoder().decode(p.subarray(32, 42))).toBe('lpa-bridge');
    expect(new TextDecoder().decode(p.subarray(48, 56))).toBe('apdu.log');
    expect(dv.getUint32(80)).toBe(7);
    expect(new TextDecoder().decode(p.subarray(84))).toBe('ATR 3b00');
    // no record carries 16 zero bytes in a row (an all-zero key would match)
    for (const line of [0, 7, 70_000]) expect(Buffer.from(osmocoreLogPayload(0, 'lpa-bridge', 3, 'x', { file: SOURCE_FILE.apdu, line })).indexOf(Buffer.alloc(16))).toBe(-1);
    expect(Buffer.from(osmocoreLogPayload(0, 'trace', 3, 'legend')).indexOf(Buffer.alloc(16))).toBe(-1);
  });

  it('says which exchanges cannot be one GSM SIM frame, and why', () => {
    const x = (c: string, r: string) => simFrameProblem(hexToBytes(c), hexToBytes(r));
    expect(x('81e2910006bf3e035c015a00', '6121')).toBeUndefined();
    expect(x('00b000000a', '984009230000000000119000')).toBeUndefined();
    expect(x('80e29100', '6a80')).toMatch(/4-byte C-APDU has no P3/);
    expect(x(`80e2910000012c${'00'.repeat(300)}`, '6700')).toMatch(/^extended-length C-APDU/);
    expect(x('80e2910008bf3e035c015a', '6700')).toMatch(/^Lc 8 but 6 bytes follow/);
    expect(x('00b0000020', '6c0a')).toMatch(/^Le 32 but 0 response data bytes/);
    expect(x('a08800001000112233445566778899aabbccddeeff', '6982')).toMatch(/^authentication refused with a bare status word/);
    expect(x('00a4040000', '')).toBe('the R-APDU has no status word');
  });
});

describe('GSMTAP pcap in tshark', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-gsmtap-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives no Malformed Packet for any instruction in the exchange shapes a bridge produces', (ctx) => {
    haveTshark(() => ctx.skip());
    const trace = new Trace();
    const shapes = (ins: number): [string, string][] => {
      const i = ins.toString(16).padStart(2, '0');
      return [
        [`00${i}000010`, '6982'], // case 2 refused
        [`00${i}000010`, '010203049000'], // case 2, fewer bytes than Le (APDU level)
        [`00${i}00000401020304`, '6982'], // case 3 refused
        [`00${i}0000040102030400`, '01020304050607089000'], // case 4 with data
        [`80${i}910004bf2e000000`, '6110'], // case 4, 61xx
        [`00${i}0000`, '6d00'], // case 1
        [`80${i}910000012c${'00'.repeat(300)}`, '6700'], // extended, refused
        [`00${i}000010${'00'.repeat(16)}`, `${'00'.repeat(12)}9000`],
      ];
    };
    for (let ins = 0; ins < 256; ins++) for (const [c, r] of shapes(ins)) trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes(c), response: hexToBytes(r), ms: 0 });
    const files = writeTrace(trace, dir);
    const malformed = tshark(['-r', files.pcap, '-Y', '_ws.malformed', '-T', 'fields', '-e', 'frame.number', '-e', 'gsm_sim.apdu.ins']);
    expect(malformed).toBe('');
    expect(tshark(['-r', files.pcap, '-Y', 'gsm_sim']).trim().split('\n').length).toBeGreaterThan(1000);
  });

  it('keeps the ATR out of the APDU dissector and tells the two hops apart by address', (ctx) => {
    haveTshark(() => ctx.skip());
    const trace = new Trace();
    trace.add({ kind: 'atr', hop: 'lpa-bridge', atr: hexToBytes('3b9f9680b1fe451fc78031e073fe211b633a204a830090009d') });
    trace.add({ kind: 'apdu', hop: 'modem-card', command: hexToBytes('81e2910006bf3e035c015a00'), response: hexToBytes('bf3e125a10890490321234512345123456789012359000'), ms: 0 });
    trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: hexToBytes('81e2910006bf3e035c015a00'), response: hexToBytes('bf3e125a10890490321234512345123456789012359000'), ms: 0 });
    trace.add({ kind: 'apdu-error', hop: 'lpa-bridge', command: hexToBytes('81e2910006bf3e035c015a00'), error: 'bridge closed the link' });
    const files = writeTrace(trace, dir);
    const rows = tshark(['-r', files.pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'frame.protocols', '-e', 'gsmtap_log.subsys', '-e', 'gsmtap_log.string'])
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    expect(rows).toHaveLength(5);
    expect(rows[0]![4]).toMatch(/^bridgelab APDU trace; .*127\.0\.1\.1 -> 127\.0\.1\.2 = lpa-bridge .*127\.0\.3\.1 -> 127\.0\.3\.2 = modem-card/);
    expect(rows[1]).toEqual([HOP_ADDRESSES['lpa-bridge'].src, HOP_ADDRESSES['lpa-bridge'].dst, 'raw:ip:udp:gsmtap:gsmtap_log', 'lpa-bridge', 'ATR 3b9f9680b1fe451fc78031e073fe211b633a204a830090009d']);
    expect(rows[2]!.slice(0, 3)).toEqual([HOP_ADDRESSES['modem-card'].src, HOP_ADDRESSES['modem-card'].dst, 'raw:ip:udp:gsmtap:gsm_sim']);
    expect(rows[3]!.slice(0, 3)).toEqual([HOP_ADDRESSES['lpa-bridge'].src, HOP_ADDRESSES['lpa-bridge'].dst, 'raw:ip:udp:gsmtap:gsm_sim']);
    expect(rows[4]![4]).toBe('C-APDU 81e2910006bf3e035c015a00: no R-APDU: bridge closed the link');
  });
});
