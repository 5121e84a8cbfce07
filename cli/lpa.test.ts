import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { lpaCommand, type LpaCommandDeps } from './lpa.ts';
import { main, registerSubcommand } from './main.ts';
import { UsageError } from './errors.ts';
import { encode } from '../sim/rsp/der.ts';
import { codecs } from '../sim/rsp/registry.ts';
import { samples } from '../sim/rsp/testdata/samples.ts';
import { hexToBytes, toUpperHex } from '../sim/bytes.ts';
import { listenCardForVpcd } from '../sim/vpcd/card-side.ts';
import { cardWithIsdr, RecordingTransport, ScriptedIsdr } from '../sim/lpa/testing/fake-isdr.ts';
import { FakeSmdp } from '../sim/lpa/testing/fake-smdp.ts';

const der = (name: string, value: unknown = samples[name]) => encode(codecs[name]!, value);

interface Line {
  type: string;
  payload: { code: number; message: string; data: Record<string, unknown> | unknown[] | null };
}

function chipIsdr(): ScriptedIsdr {
  return new ScriptedIsdr()
    .on(0xbf3e, der('GetEuiccDataResponse'))
    .on(0xbf3c, der('EuiccConfiguredAddressesResponse'))
    .on(0xbf43, der('GetRatResponse'))
    .on(0xbf22, der('EUICCInfo2'))
    .on(0xbf2d, der('ProfileInfoListResponse'))
    .on(0xbf31, hexToBytes('BF3103800102'))
    .on(0xbf28, der('ListNotificationResponse'));
}

async function run(args: string[], deps: Omit<LpaCommandDeps, 'io'> = {}): Promise<{ code: number; lines: Line[]; err: string }> {
  let out = '';
  let err = '';
  const code = await lpaCommand(args, { ...deps, io: { out: (t) => void (out += t), err: (t) => void (err += t) } });
  const lines = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
  return { code, lines, err };
}

describe('bridgelab lpa', () => {
  it('chip info: lpac-style JSON lines (progress per event, then the result) and exit 0', async () => {
    const isdr = chipIsdr();
    const transport = new RecordingTransport(cardWithIsdr(isdr));
    let closed = false;
    const r = await run(['chip', 'info'], {
      createTransport: async () => {
        transport.close = async () => {
          closed = true;
        };
        return transport;
      },
    });
    expect(r.code).toBe(0);
    const progress = r.lines.slice(0, -1);
    expect(progress.every((l) => l.type === 'progress' && l.payload.code === 0)).toBe(true);
    expect(progress.filter((l) => (l.payload.data as { phase: string }).phase === 'start').map((l) => l.payload.message)).toEqual([
      'es10c.GetEID',
      'es10a.GetEuiccConfiguredAddresses',
      'es10b.GetRAT',
      'es10b.GetEUICCInfo2',
    ]);
    expect(progress[1]!.payload).toEqual({ code: 0, message: 'es10c.GetEID', data: { phase: 'done', eid: '89049032123451234512345678901235' } });
    const final = r.lines.at(-1)!;
    expect(final.type).toBe('lpa');
    expect(final.payload.code).toBe(0);
    expect(final.payload.message).toBe('success');
    const data = final.payload.data as Record<string, unknown>;
    expect(data['eidValue']).toBe('89049032123451234512345678901235');
    expect(data['EuiccConfiguredAddresses']).toEqual({ defaultDpAddress: 'testsmdpplus1.example.com', rootDsAddress: 'lpa.ds.gsma.com' });
    expect(data['EUICCInfo2']).toMatchObject({
      profileVersion: '2.3.0',
      svn: '2.2.0',
      euiccFirmwareVer: '4.2.1',
      extCardResource: { installedApplication: 0, freeNonVolatileMemory: 293928, freeVolatileMemory: 8720 },
      euiccCiPKIdListForSigning: ['f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
      euiccCategory: 'mediumEuicc',
      sasAcreditationNumber: 'GI-BA-UP-0419',
    });
    expect(data['rulesAuthorisationTable']).toEqual([
      { pprIds: ['ppr1'], allowedOperators: [{ plmn: '1EFFF', gid1: null, gid2: null }], pprFlags: ['consentRequired'] },
      { pprIds: ['ppr2'], allowedOperators: [{ plmn: '00101', gid1: 'ab', gid2: null }], pprFlags: [] },
    ]);
    // the ISD-R channel was opened and closed, and the transport closed
    expect(toUpperHex(transport.exchanges[0]!.capdu)).toBe('0070000001');
    expect(toUpperHex(transport.exchanges.at(-1)!.capdu)).toBe('0070800100');
    expect(closed).toBe(true);
  });

  it('profile list and notification list in lpac shape', async () => {
    const list = await run(['profile', 'list'], { createTransport: async () => cardWithIsdr(chipIsdr()) });
    expect(list.code).toBe(0);
    expect((list.lines.at(-1)!.payload.data as unknown[])[0]).toEqual({
      iccid: '89000123456789012341',
      isdpAid: 'a0000005591010ffffffff8900001000',
      profileState: 'enabled',
      profileNickname: 'Work',
      serviceProviderName: 'GSMA',
      profileName: 'Test Profile',
      iconType: 'jpg',
      icon: '/9j/4A==',
      profileClass: 'operational',
    });
    const notes = await run(['notification', 'list'], { createTransport: async () => cardWithIsdr(chipIsdr()) });
    expect(notes.lines.at(-1)!.payload.data).toEqual([{ seqNumber: 7, profileManagementOperation: 'install', notificationAddress: 'testsmdpplus1.example.com', iccid: '89000123456789012341' }]);
  });

  it('an eUICC refusal ends with code -1, the error and its SGP.22 code name, exit 1', async () => {
    const r = await run(['profile', 'enable', '89000123456789012341'], { createTransport: async () => cardWithIsdr(chipIsdr()) });
    expect(r.code).toBe(1);
    const final = r.lines.at(-1)!;
    expect(final.type).toBe('lpa');
    expect(final.payload.code).toBe(-1);
    expect(final.payload.message).toBe('ES10c.EnableProfile failed: EnableProfileResult 2 (profileNotInDisabledState)');
    expect(final.payload.data).toMatchObject({ name: 'EuiccResultError', step: 'es10c.EnableProfile', code: 2, codeName: 'profileNotInDisabledState' });
    expect(r.lines.some((l) => l.type === 'progress' && (l.payload.data as { phase: string }).phase === 'error')).toBe(true);
  });

  it('downloads with -a through the injected SM-DP+ and reports the installed profile', async () => {
    const isdr = chipIsdr()
      .on(0xbf2e, der('GetEuiccChallengeResponse'))
      .on(0xbf20, der('EUICCInfo1'))
      .on(0xbf38, der('AuthenticateServerResponse'))
      .on(0xbf21, der('PrepareDownloadResponse'))
      .on(0xbf30, der('NotificationSentResponse'));
    isdr.onBppSegment = (_s, i) => (i === 8 ? der('ProfileInstallationResult') : new Uint8Array(0));
    const smdp = new FakeSmdp();
    const r = await run(['profile', 'download', '-a', 'LPA:1$testsmdpplus1.example.com$ABC-1234'], { createTransport: async () => cardWithIsdr(isdr), lpaOptions: { es9pFactory: smdp.factory } });
    expect(r.code).toBe(0);
    expect(r.lines.at(-1)!.payload.data).toMatchObject({ iccid: '89000123456789012341', profileName: 'Test Profile', notification: { seqNumber: 7, delivered: true, removed: true } });
  });

  it('drives the eUICC through a bridge over vpcd (--vpcd host:port)', async () => {
    const euicc = cardWithIsdr(chipIsdr());
    const server = await listenCardForVpcd(
      { atr: () => euicc.atr(), powerOn: () => euicc.powerOn(), powerOff: () => euicc.powerOff(), reset: () => euicc.reset(), transmit: (c) => euicc.transmit(c) },
      '127.0.0.1',
      0,
    );
    try {
      const r = await run(['chip', 'info', '--vpcd', `127.0.0.1:${(server.address() as AddressInfo).port}`, '--get-response-cla', '80', '--block-size', '255']);
      expect(r.code).toBe(0);
      expect((r.lines.at(-1)!.payload.data as Record<string, unknown>)['eidValue']).toBe('89049032123451234512345678901235');
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
  });

  it('reports an unreachable bridge as an operation failure (exit 1)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await run(['chip', 'info', '--vpcd', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]!.payload).toMatchObject({ code: -1, data: { name: 'VpcdTransportError', problem: 'not-connected' } });
  });

  it('throws UsageError for bad arguments, before touching any transport', async () => {
    let opened = 0;
    const deps = { createTransport: async () => (opened++, cardWithIsdr(chipIsdr())) };
    for (const args of [
      [],
      ['chip'],
      ['chip', 'info', 'extra'],
      ['profile', 'fly'],
      ['profile', 'download'],
      ['profile', 'download', '-a', 'LPA:2$x$y'],
      ['profile', 'enable'],
      ['profile', 'enable', '1234'],
      ['profile', 'nickname', '89000123456789012341'],
      ['notification', 'remove', 'x'],
      ['chip', 'info', '--block-size', '300'],
      ['chip', 'info', '--get-response-cla', '40'],
      ['chip', 'info', '--vpcd', 'a:1', '--vpcd-listen', 'b:2'],
      ['chip', 'info', '--smdp-host', '127.0.0.1'],
      ['chip', 'info', '--ca', '/nonexistent/ca.pem'],
      ['chip', 'info', '--bogus'],
    ]) {
      await expect(run(args, deps), args.join(' ')).rejects.toBeInstanceOf(UsageError);
    }
    expect(opened).toBe(0);
    await expect(run(['chip', 'info'])).rejects.toThrow(/no eUICC transport/);
  });

  it('maps to exit codes 0/1/2 through bridgelab main', async () => {
    let isdr = chipIsdr();
    const outputs: string[] = [];
    registerSubcommand('lpa', 'test LPA', async () => (args) =>
      lpaCommand(args, { createTransport: async () => cardWithIsdr(isdr), io: { out: (t) => void outputs.push(t), err: () => undefined } }),
    );
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await main(['lpa', 'chip', 'info'])).toBe(0);
      isdr = chipIsdr();
      expect(await main(['lpa', 'profile', 'enable', '89000123456789012341'])).toBe(1);
      expect(await main(['lpa', 'chip', 'explode'])).toBe(2);
    } finally {
      process.stderr.write = stderr;
    }
    expect(outputs.filter((o) => o.includes('"type":"lpa"'))).toHaveLength(2);
  });
});
