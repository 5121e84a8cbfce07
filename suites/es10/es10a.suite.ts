// ES10 through the bridge, ES10a (SGP.22 5.7.3 GetEuiccConfiguredAddresses, 5.7.4
// SetDefaultDpAddress): the addresses the eUICC keeps (default SM-DP+, root SM-DS) read
// and changed through the bridge, byte for byte. Each case puts the default SM-DP+
// address back as it found it.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { euiccOf } from '../framework/fixtures.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { EuiccConfiguredAddressesResponse, SetDefaultDpAddressRequest } from '../../sim/rsp/es10a.ts';
import { toUpperHex } from '../../sim/bytes.ts';
import { cleanCard, onCard, withBridge } from './helpers.ts';

const rig = useRig();
const group = 'ES10 through the bridge' as const;

type Addresses = { defaultDpAddress?: string; rootDsAddress: string };

/** The addresses before the case (clean emulated card: as manufactured). */
async function before(rt: RigRuntime): Promise<Addresses> {
  await cleanCard(rt);
  const a = await onCard(rt, (es10) => es10.getConfiguredAddresses());
  return { ...(a.defaultDpAddress !== undefined ? { defaultDpAddress: a.defaultDpAddress } : {}), rootDsAddress: a.rootDsAddress };
}

/** Put the default SM-DP+ address back (a card eUICC keeps what the case set). */
async function restore(rt: RigRuntime, a: Addresses): Promise<void> {
  await onCard(rt, (es10) => es10.setDefaultDpAddress(a.defaultDpAddress ?? ''));
}

tc(
  {
    id: 'TC_eUICC_ES10a.GetEuiccConfiguredAddresses_Values',
    title: 'GetEuiccConfiguredAddresses returns the default SM-DP+ and root SM-DS addresses',
    group,
    iut: 'self',
    purpose: 'The addresses an LPA starts a download or discovery from reach it byte for byte.',
    requirement: 'SGP.22 5.7.3 GetEuiccConfiguredAddresses (BF3C { 80 defaultDpAddress?, 81 rootDsAddress })',
    initialConditions: ['a clean eUICC (emulated: default SM-DP+ = the rig\'s SM-DP+, root SM-DS = its SM-DS)', 'an ES10 session through the bridge'],
    steps: [{ action: 'STORE DATA BF3C 00', expected: 'BF3C { 80 <default SM-DP+>, 81 <root SM-DS> } as DER, the addresses the eUICC holds' }],
  },
  async (c) => {
    const rt = rig(c);
    const a = await c.setup('addresses as manufactured', () => before(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await es10.storeData(Uint8Array.of(0xbf, 0x3c, 0x00), 'ES10a.GetEuiccConfiguredAddresses');
        expect(toUpperHex(r)).toBe(toUpperHex(EuiccConfiguredAddressesResponse.encode(a)));
        if (c.observe('cardState', 'the addresses the card holds') && rt.smdp) {
          expect(a).toEqual({ defaultDpAddress: rt.smdp.address, rootDsAddress: rt.smdp.smdsAddress });
          expect(euiccOf(rt).state.addresses()).toEqual(a);
        }
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10a.SetDefaultDpAddress_Ok',
    title: 'SetDefaultDpAddress replaces the default SM-DP+ address: ok (0)',
    group,
    iut: 'self',
    purpose: 'A new default SM-DP+ address set through the bridge is stored and read back unchanged.',
    requirement: 'SGP.22 5.7.4 SetDefaultDpAddress (setDefaultDpAddressResult ok 0)',
    initialConditions: ['the eUICC addresses as found', 'an ES10 session through the bridge'],
    steps: [
      { action: 'SetDefaultDpAddress "smdp2.es10-suite.example.com"', expected: 'BF3F { 80 01 00 }' },
      { action: 'GetEuiccConfiguredAddresses', expected: 'defaultDpAddress "smdp2.es10-suite.example.com", rootDsAddress unchanged' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const a = await c.setup('addresses as found', () => before(rt));
    const address = 'smdp2.es10-suite.example.com';
    try {
      await withBridge(c, rt, async (es10) => {
        await c.step(1, async () => {
          expect(toUpperHex(await es10.storeData(SetDefaultDpAddressRequest.encode({ defaultDpAddress: address }), 'ES10a.SetDefaultDpAddress'))).toBe('BF3F03800100');
        });
        await c.step(2, async () => {
          expect(await es10.getConfiguredAddresses()).toEqual({ defaultDpAddress: address, rootDsAddress: a.rootDsAddress });
          if (c.observe('cardState', 'the default SM-DP+ address stored on the card')) expect(euiccOf(rt).state.addresses().defaultDpAddress).toBe(address);
        });
      });
    } finally {
      await restore(rt, a);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10a.SetDefaultDpAddress_Remove',
    title: 'SetDefaultDpAddress with an empty address removes the default SM-DP+ address',
    group,
    iut: 'self',
    purpose: 'An empty defaultDpAddress (a zero-length TLV) crosses the bridge and clears the address.',
    requirement: 'SGP.22 5.7.4 SetDefaultDpAddress (empty value: no default SM-DP+ address); 5.7.3 (defaultDpAddress OPTIONAL)',
    initialConditions: ['the eUICC addresses as found', 'an ES10 session through the bridge'],
    steps: [
      { action: 'SetDefaultDpAddress "" (BF3F 02 80 00)', expected: 'BF3F { 80 01 00 }' },
      { action: 'GetEuiccConfiguredAddresses', expected: 'BF3C { 81 <root SM-DS> } without defaultDpAddress' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const a = await c.setup('addresses as found', () => before(rt));
    try {
      await withBridge(c, rt, async (es10) => {
        await c.step(1, async () => {
          expect(toUpperHex(await es10.storeData(Uint8Array.of(0xbf, 0x3f, 0x02, 0x80, 0x00), 'ES10a.SetDefaultDpAddress'))).toBe('BF3F03800100');
        });
        await c.step(2, async () => {
          const r = await es10.storeData(Uint8Array.of(0xbf, 0x3c, 0x00), 'ES10a.GetEuiccConfiguredAddresses');
          expect(toUpperHex(r)).toBe(toUpperHex(EuiccConfiguredAddressesResponse.encode({ rootDsAddress: a.rootDsAddress })));
        });
      });
    } finally {
      await restore(rt, a);
    }
  },
);
