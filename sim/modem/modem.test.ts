// VirtualModem: engine + UART lines + run-time faults, each fault observable from the TE side.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualModem, type VirtualModemOptions } from './modem.ts';
import type { ModemTraceEvent } from './engine.ts';
import { AtClient } from './testing/at-client.ts';
import { FakeCard, ISD_R_AID } from './testing/fake-card.ts';

interface Rig {
  modem: VirtualModem;
  at: AtClient;
  card: FakeCard;
  trace: ModemTraceEvent[];
}

function rig(opts: Partial<VirtualModemOptions> = {}): Rig {
  const card = new FakeCard();
  const trace: ModemTraceEvent[] = [];
  const modem = new VirtualModem({ personality: 'quectel-ec25j', transport: card, timeScale: 0, baud: null, onTrace: (e) => trace.push(e), ...opts });
  const at = new AtClient((b) => modem.receive(b));
  modem.attach((b) => at.feed(b));
  return { modem, at, card, trace };
}

describe('VirtualModem', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });
  afterEach(async () => {
    await r.modem.close();
  });

  it('counts bytes on the wire in both directions', async () => {
    expect(await r.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    await r.modem.settled();
    expect(r.modem.counters()).toEqual({ toTe: { bytes: 9, dropped: 0, pending: 0 }, fromTe: { bytes: 3, dropped: 0, pending: 0 } });
  });

  it('paces responses at the line rate', async () => {
    await r.modem.close();
    r = rig({ baud: 9600 });
    const t0 = performance.now();
    const resp = await r.at.command('ATI'); // 4 bytes in, echo + 51 bytes out, at 960 bytes/s
    const elapsed = performance.now() - t0;
    expect(resp.length).toBe(4 + 51);
    expect(elapsed).toBeGreaterThanOrEqual((resp.length * 1000) / 960 - 2);
    expect(elapsed).toBeLessThan(5000);
    expect(r.modem.baud).toBe(9600);
  });

  it('drops exactly the next N bytes to the TE', async () => {
    await r.at.command('ATE0');
    r.modem.faults.dropNextBytes(4);
    r.at.write('AT+CGMI\r');
    expect(await r.at.waitMatch(/OK\r\n/)).toBe('ectel\r\n\r\nOK\r\n');
    expect(r.modem.counters().toTe.dropped).toBe(4);
    expect(await r.at.command('AT')).toBe('\r\nOK\r\n');
  });

  it('drops bytes from the TE: a garbled command gets no answer', async () => {
    await r.at.command('ATE0');
    r.modem.faults.dropNextBytes(1, 'fromTe');
    r.at.write('AT\r'); // 'T\r' reaches the modem: no AT, ignored
    expect(await r.at.quiet(50)).toBe('');
    expect(r.modem.counters().fromTe).toMatchObject({ dropped: 1 });
    expect(await r.at.command('AT')).toBe('\r\nOK\r\n');
  });

  it('drop probability is seeded: two modems with one seed lose the same bytes', async () => {
    const lost = async (seed: number): Promise<string> => {
      const x = rig({ seed });
      x.modem.faults.setDropProbability(0.2);
      x.at.write('ATI\r');
      const out = await x.at.quiet(40);
      await x.modem.close();
      return out;
    };
    const a = await lost(3);
    expect(a.length).toBeLessThan('ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25JFAR06A03M4G\r\n\r\nOK\r\n'.length);
    expect(await lost(3)).toBe(a);
    r.modem.faults.clear();
  });

  it('URC injected in the middle of the next response', async () => {
    await r.at.command('ATE0');
    r.modem.faults.injectUrcInNextResponse();
    expect(await r.at.command(`AT+CCHO="${ISD_R_AID}"`)).toBe('\r\n+CCH\r\n+QIND: SMS DONE\r\nO: 1\r\n\r\nOK\r\n');
    r.modem.faults.injectUrcInNextResponse('+CPIN: READY', 0);
    expect(await r.at.command('AT')).toBe('\r\n+CPIN: READY\r\n\r\nOK\r\n');
  });

  it('emitUrc sends a URC between responses', async () => {
    r.modem.faults.emitUrc('+QIND: PB DONE');
    expect(await r.at.quiet(20)).toBe('\r\n+QIND: PB DONE\r\n');
  });

  it('reboot: sessions dropped, card reset, echo back on, URCs', async () => {
    await r.at.command('ATE0');
    expect(await r.at.command(`AT+CCHO="${ISD_R_AID}"`)).toBe('\r\n+CCHO: 1\r\n\r\nOK\r\n');
    await r.modem.faults.reboot();
    expect(r.at.take()).toBe('\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n');
    expect(r.card.resets).toBe(1);
    expect(r.modem.state()).toMatchObject({ echo: true, sessions: [], restarting: false });
    expect(await r.at.command('AT+CGLA=1,10,"81F2000000"')).toBe('AT+CGLA=1,10,"81F2000000"\r\r\nERROR\r\n');
  });

  it('response delay, spurious ERROR rate and card removal through the fault API', async () => {
    await r.at.command('ATE0');
    r.modem.faults.setResponseDelay(120, 1);
    const t0 = performance.now();
    await r.at.command('AT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);

    await r.at.command(`AT+CCHO="${ISD_R_AID}"`);
    r.modem.faults.setSpuriousErrorRate(1, 'all');
    expect(await r.at.command('AT+CGLA=1,10,"81F2000000"')).toBe('\r\nERROR\r\n');
    r.modem.faults.clear();
    expect(await r.at.command('AT+CGLA=1,10,"81F2000000"')).toMatch(/^\r\n\+CGLA: /);

    await r.modem.faults.removeCard();
    await r.at.command('AT+CMEE=1');
    expect(await r.at.command('AT+CPIN?')).toBe('\r\n+CME ERROR: 10\r\n');
    await r.modem.faults.insertCard();
    expect(await r.at.command('AT+CPIN?')).toBe('\r\n+CPIN: READY\r\n\r\nOK\r\n');
  });

  it('rejects bad fault parameters', () => {
    expect(() => r.modem.faults.dropNextBytes(-1)).toThrow(RangeError);
    expect(() => r.modem.faults.setDropProbability(1.5)).toThrow(RangeError);
    expect(() => r.modem.faults.setSpuriousErrorRate(-0.1)).toThrow(RangeError);
  });

  it('power-on boot sends the restart URCs', async () => {
    await r.modem.close();
    r = rig({ powerOn: 'boot' });
    expect(await r.at.waitMatch(/\+QUSIM: 1\r\n/)).toBe('\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n');
  });

  it('after close nothing is sent and input is ignored', async () => {
    await r.modem.close();
    r.at.write('AT\r');
    expect(await r.at.quiet(30)).toBe('');
  });
});
