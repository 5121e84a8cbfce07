// Negative and security: the LPA link protected with TLS-PSK (RFC 4279 suites on TLS 1.2,
// the reference bridge's TLS-PSK option, bridge requirement BR-11). This file runs its own rig whose built-in bridge listens
// with a PSK: an LPA without the key (plain vpcd), with a wrong key or an unknown identity
// gets no APDU through to the card; with the key the ES10 session works. TLS-PSK is an
// option of the built-in bridge: on a rig with another bridge the cases are N/A.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { SuiteEnv } from '../framework/env.ts';
import { connectPsk } from '../../sim/bridge/bridge.ts';
import { connectVpcdReader, VpcdReaderTransport } from '../../sim/lpa/vpcd-transport.ts';
import { Lpa } from '../../sim/lpa/flows.ts';
import { VpcdTransportError } from '../../sim/lpa/errors.ts';
import { cleanRig } from '../framework/fixtures.ts';

const PSK = { identity: 'bridgelab-lpa', key: new Uint8Array(randomBytes(32)) };
const rig = useRig({ bridge: { psk: PSK } });
const group = 'Negative and security' as const;

const builtinOnly = (env: SuiteEnv): true | string => (env.rig.bridge.kind === 'builtin' ? true : 'TLS-PSK is configured on the built-in bridge only (a vendor bridge sets its own key)');

function address(rt: RigRuntime): { host: string; port: number } {
  if (!rt.bridgeAddress) throw new Error('bridge address unknown');
  return rt.bridgeAddress;
}

/** A vpcd reader over a TLS-PSK connection, traced on the lpa-bridge hop like rt.connectLpa(). */
/**
 * Whether a TLS-PSK LPA with this identity and key gets a working link: 'failed' when the
 * handshake fails, or when a TLS 1.2 client only sees the failure on its first read (the
 * ATR request).
 */
async function pskOutcome(rt: RigRuntime, identity: string, key: Uint8Array): Promise<'connected' | 'failed'> {
  let t: VpcdReaderTransport;
  try {
    t = await connectWithPsk(rt, identity, key);
  } catch {
    return 'failed';
  }
  const err = await t.reset().then(() => undefined, (e: unknown) => e);
  await t.close();
  return err === undefined ? 'connected' : 'failed';
}

async function connectWithPsk(rt: RigRuntime, identity: string, key: Uint8Array): Promise<VpcdReaderTransport> {
  const { host, port } = address(rt);
  const socket = await connectPsk(host, port, identity, key, { timeoutMs: 5000 });
  return new VpcdReaderTransport(socket, {
    commandTimeoutMs: 10_000,
    trace: {
      onApdu: (capdu, rapdu) => rt.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: capdu, response: rapdu, ms: 0 }),
      onControl: (control, answer) => (answer ? rt.trace.add({ kind: 'atr', hop: 'lpa-bridge', atr: answer }) : rt.trace.log('vpcd', `control ${control}`)),
    },
  });
}

/** Nothing reached the modem or the card since `from`. */
function expectNothingThrough(rt: RigRuntime, from: number): void {
  const later = rt.trace.events.slice(from);
  expect(later.filter((e) => e.kind === 'apdu' && e.hop === 'modem-card').length).toBe(0);
  expect(later.filter((e) => e.kind === 'at' && e.direction === 'to-modem' && /^AT\+(CSIM|CGLA|CCHO|CCHC)/.test(e.line)).map((e) => (e.kind === 'at' ? e.line : ''))).toEqual([]);
}

tc(
  {
    id: 'TC_LPA-Bridge_Security.Psk_PlainLpaRefused',
    title: 'an LPA speaking plain vpcd to a TLS-PSK bridge gets no ATR and no APDU through',
    group,
    iut: 'bridge', // the bridge terminates TLS-PSK (RFC 4279) towards the LPA
    purpose: 'With TLS-PSK on, the bridge serves nobody who does not hold the key, not even the ATR.',
    requirement: 'bridge requirement BR-11 (without the key an LPA cannot exchange a single APDU); RFC 4279',
    initialConditions: ['the built-in bridge listening with TLS-PSK (identity bridgelab-lpa, 32-byte key)'],
    steps: [
      { action: 'connect with plain TCP and send power-on / GET ATR', expected: 'VpcdTransportError: the bridge closes the link (no ATR)' },
      { action: 'check the modem and the card', expected: 'no +CCHO/+CGLA/+CSIM and no card APDU' },
    ],
    applicable: builtinOnly,
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const from = rt.trace.events.length;
    await c.step(1, async () => {
      const { host, port } = address(rt);
      const t = await connectVpcdReader(host, port, { commandTimeoutMs: 3000 }).catch((err: unknown) => err);
      if (!(t instanceof VpcdReaderTransport)) {
        expect(t).toBeInstanceOf(VpcdTransportError);
        return;
      }
      try {
        const err = await t.reset().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(VpcdTransportError);
        expect(['closed', 'timeout', 'protocol']).toContain((err as VpcdTransportError).problem);
      } finally {
        await t.close();
      }
    });
    await c.step(2, () => expectNothingThrough(rt, from));
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_Security.Psk_WrongKey',
    title: 'an LPA with the right PSK identity but another key fails the TLS handshake',
    group,
    iut: 'bridge', // the bridge terminates TLS-PSK (RFC 4279) towards the LPA
    purpose: 'Knowing the identity is not enough.',
    requirement: 'RFC 4279 (PSK key exchange); bridge requirement BR-11',
    initialConditions: ['the built-in bridge listening with TLS-PSK'],
    steps: [
      { action: 'TLS-PSK handshake with identity bridgelab-lpa and another random 32-byte key', expected: 'the handshake fails' },
      { action: 'check the modem and the card', expected: 'nothing went through' },
    ],
    applicable: builtinOnly,
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const from = rt.trace.events.length;
    await c.step(1, async () => {
      expect(await pskOutcome(rt, PSK.identity, new Uint8Array(randomBytes(32)))).toBe('failed');
    });
    await c.step(2, () => expectNothingThrough(rt, from));
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_Security.Psk_UnknownIdentity',
    title: 'an LPA with an unknown PSK identity fails the TLS handshake',
    group,
    iut: 'bridge', // the bridge terminates TLS-PSK (RFC 4279) towards the LPA
    purpose: 'The bridge only accepts the identity it was configured with.',
    requirement: 'RFC 4279 (psk_identity); bridge requirement BR-11',
    initialConditions: ['the built-in bridge listening with TLS-PSK'],
    steps: [
      { action: 'TLS-PSK handshake with identity other-lpa and the configured key', expected: 'the handshake fails' },
      { action: 'check the modem and the card', expected: 'nothing went through' },
    ],
    applicable: builtinOnly,
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const from = rt.trace.events.length;
    await c.step(1, async () => {
      expect(await pskOutcome(rt, 'other-lpa', PSK.key)).toBe('failed');
    });
    await c.step(2, () => expectNothingThrough(rt, from));
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_Security.Psk_WithKey',
    title: 'an LPA holding the PSK opens its ES10 session through the TLS-PSK bridge and reads the EID',
    group,
    iut: 'bridge', // the bridge terminates TLS-PSK (RFC 4279) towards the LPA
    purpose: 'TLS-PSK protects the link without changing what the LPA can do.',
    requirement: 'bridge requirement BR-11 (with the key, an ordinary session); RFC 4279; SGP.22 5.7.20 GetEID',
    initialConditions: ['the built-in bridge listening with TLS-PSK'],
    steps: [
      { action: 'TLS-PSK handshake with the configured identity and key, power-on and GET ATR', expected: 'the ATR' },
      { action: 'open the ES10 session (MANAGE CHANNEL, SELECT ISD-R) and GetEID', expected: 'the EID of the eUICC' },
    ],
    applicable: builtinOnly,
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const t = await c.step(1, async () => {
      const t = await connectWithPsk(rt, PSK.identity, PSK.key);
      expect((await t.reset()).length).toBeGreaterThan(1);
      return t;
    });
    try {
      await c.step(2, async () => {
        const lpa = await Lpa.open(t, { es10: { blockSize: rt.env.rig.lpa.storeDataBlockSize } });
        try {
          const eid = await lpa.es10.getEid();
          if (c.observe('cardEid', "the card's EID")) expect(eid).toBe(rt.cardEid);
          else expect(eid).toMatch(/^\d{32}$/);
        } finally {
          await lpa.close();
        }
      });
    } finally {
      await t.close();
    }
  },
);
