import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '../sim/rsp/der.ts';
import { codecs } from '../sim/rsp/registry.ts';
import { samples } from '../sim/rsp/testdata/samples.ts';
import { toHex } from '../sim/bytes.ts';

const BIN = fileURLToPath(new URL('../bin/bridgelab.js', import.meta.url));

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'decode', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function der(name: keyof typeof samples): Uint8Array {
  return encode(codecs[name]!, samples[name]);
}

describe('bridgelab decode', () => {
  it('decodes a BoundProfilePackage from a binary file, with its segments as hex', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridgelab-decode-'));
    try {
      const file = join(dir, 'bpp.der');
      const bytes = der('BoundProfilePackage');
      writeFileSync(file, bytes);
      const r = run([file]);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.type).toBe('BoundProfilePackage');
      expect(Object.keys(out.value)).toEqual(expect.arrayContaining(['initialiseSecureChannelRequest', 'firstSequenceOf87', 'sequenceOf88', 'sequenceOf86']));
      expect(out.value.initialiseSecureChannelRequest.remoteOpId).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes an AuthenticateServerResponse given as base64, keeping certificates as hex', () => {
    const bytes = der('AuthenticateServerResponse');
    const r = run([Buffer.from(bytes).toString('base64')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.type).toBe('AuthenticateServerResponse');
    const ok = out.value.authenticateResponseOk;
    expect(ok.euiccSigned1.serverAddress).toBeTypeOf('string');
    expect(ok.euiccCertificate).toMatch(/^3082/);
  });

  it('decodes a ProfileInfoListResponse given as hex, naming result codes', () => {
    const r = run([toHex(der('ProfileInfoListResponse'))]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.type).toBe('ProfileInfoListResponse');
    expect(out.value.profileInfoListOk.length).toBeGreaterThan(0);
    expect(out.value.profileInfoListOk[0].iccid).toMatch(/^[0-9a-f]{20}$/);
  });

  it('reports truncated, wrong-tag and trailing-garbage input in one line with exit 2', () => {
    const full = toHex(der('ProfileInfoListResponse'));
    const cases: [string, RegExp][] = [
      [full.slice(0, full.length - 10), /truncated: .*offset \d+/],
      ['bf7f00', /unexpectedTag: .*tag BF7F/],
      [full + '00', /trailing: 1 trailing byte\(s\).*offset \d+/],
      ['30038001', /truncated/],
    ];
    for (const [input, message] of cases) {
      const r = run([input]);
      expect(r.code, input).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });

  it('rejects non-DER where SGP.22 signs the bytes unless --lenient', () => {
    const strict = run(['bf3e81125a1089049032123451234512345678901235']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(/notDer: non-minimal length/);
    const lenient = run(['--lenient', 'bf3e81125a1089049032123451234512345678901235']);
    expect(lenient.code).toBe(0);
    expect(JSON.parse(lenient.stdout).value.eidValue).toBe('89049032123451234512345678901235');
  });

  it('decodes activation codes and rejects bad ones naming the field', () => {
    const ok = run(['--ac', 'LPA:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).value).toEqual({ format: 1, smdpAddress: 'SMDP.GSMA.COM', matchingId: '04386-AGYFT-A74Y8-3F815', smdpOid: '1.3.6.1.4.1.31746', confirmationCodeRequired: true });
    const bad = run(['--ac', '1$$X']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/smdpAddress/);
  });

  it('forces a type with --type and rejects unknown types and bad arguments with exit 2', () => {
    const req = run(['--type', 'GetEuiccDataRequest', 'bf3e035c015a']);
    expect(req.code).toBe(0);
    expect(JSON.parse(req.stdout).value).toEqual({ tagList: '5a' });
    expect(run(['--type', 'NoSuchThing', 'bf3e035c015a']).code).toBe(2);
    expect(run(['not-hex-or-base64!']).code).toBe(2);
    expect(run([]).code).toBe(2);
  });
});
