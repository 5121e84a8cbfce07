// Provisioning through the bridge, one case per GSMA TS.48 test profile template of the
// SM-DP+ (sim/smdp/profiles): each package (SAIP 2.1/2.3, with and without BER-TLV files,
// 11-12 KB, 28-30 profile elements) is bound into a BPP (SGP.22 2.5.4), loaded through the
// bridge in its separate STORE DATA sequences (2.5.5, 5.7.6) and must arrive whole: the
// eUICC's copy has the SM-DP+'s personalised IMSI, USIM AID and AKA parameters.
// The LPA sends these downloads in STORE DATA blocks of 255 bytes, the largest SGP.22 5.7.2
// allows: half the APDUs of the rig's usual block size (exercised by the other download
// cases), which keeps 18 downloads per personality short on slow modems.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { DEFAULT_PROFILES_DIR } from '../../sim/smdp/inventory.ts';
import { readProfile } from '../../sim/saip/profile.ts';
import { equalBytes } from '../../sim/bytes.ts';
import { cleanRig, orderProfile, restoreRig, smdpOf, smdpState, withLpa, euiccOf } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Provisioning through the bridge' as const;

/** The templates an embedded SM-DP+ starts with (checked against its inventory at run time). */
const TEMPLATES = readdirSync(DEFAULT_PROFILES_DIR)
  .filter((f) => f.endsWith('.der'))
  .map((f) => basename(f, '.der'))
  .sort();

for (const template of TEMPLATES) {
  const variant = template.replace(/[^A-Za-z0-9]/g, '');
  tc(
    {
      id: `TC_LPA-Bridge_ES9+.DownloadTemplate_${variant}`,
      title: `the TS.48 profile ${template} downloads through the bridge and arrives whole`,
      group,
      iut: 'bridge',
      purpose: 'Every test profile package the SM-DP+ offers can be provisioned through the bridge, whatever its size and structure.',
      requirement: 'SGP.22 2.5.4-2.5.5 (BPP and its loading), 5.7.6 LoadBoundProfilePackage; GSMA TS.48 test profiles',
      initialConditions: [`clean eUICC`, `a released order for an inventory entry of template ${template}`],
      steps: [
        { action: 'download with the Activation Code (STORE DATA blocks of 255 bytes)', expected: 'ProfileInstallationResult success with the ordered ICCID; notification delivered' },
        { action: 'compare the installed profile with the package the SM-DP+ bound', expected: 'same ICCID, IMSI, USIM AID, profile type, and the same AKA parameters (compared, never printed)' },
        { action: 'check the SM-DP+', expected: 'entry Installed' },
      ],
      requires: ['embeddedSmdp'],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      await c.setup(`template ${template} offered by the SM-DP+`, () => expect(smdpOf(rt).inventory.templates()).toContain(template));
      const order = await c.setup('released order', () => orderProfile(rt, { template }));
      try {
        await c.step(1, () =>
          withLpa(rt, async (lpa) => {
            const r = await lpa.downloadProfile(order.activationCode);
            expect(r.iccid).toBe(order.iccid);
            expect(r.notification?.delivered).toBe(true);
          }, { es10: { blockSize: 255 } }),
        );
        await c.step(2, () => {
          if (!c.observe('cardState', 'the profile stored on the card')) return;
          const bound = readProfile(smdpOf(rt).inventory.personalisedUpp(order.iccid));
          const p = euiccOf(rt).state.profile(order.iccid);
          expect(p).toBeDefined();
          expect(bound.iccid).toBe(order.iccid);
          expect(p!.imsi).toBe(bound.imsi);
          expect(p!.usimAid).toBe(bound.usimAid?.toUpperCase());
          expect(p!.profileType).toBe(bound.profileType);
          const a = euiccOf(rt).state.akaParameters(order.iccid);
          const b = bound.akaParameters;
          expect(a?.algorithm).toBe(b?.algorithm);
          // booleans only: Ki/OPc must never reach an assertion message or the evidence
          expect(a?.ki !== undefined && b?.ki !== undefined && equalBytes(a.ki, b.ki)).toBe(true);
          expect(a?.opc !== undefined && b?.opc !== undefined && equalBytes(a.opc, b.opc)).toBe(true);
        });
        await c.step(3, () => expect(smdpState(rt, order.iccid)).toBe('Installed'));
      } finally {
        await restoreRig(rt);
      }
    },
  );
}
