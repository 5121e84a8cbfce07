// The fuzz campaigns by name, in the order `npm run fuzz` runs them.
import type { Campaign } from './harness.ts';
import { activationCodeCampaign } from './targets/activation-code.ts';
import { bridgeAtCampaign } from './targets/bridge-at.ts';
import { certsCampaign } from './targets/certs.ts';
import { euiccCampaign } from './targets/euicc-apdu.ts';
import { derCampaign } from './targets/rsp-der.ts';
import { jsonCampaign } from './targets/rsp-json.ts';
import { saipCampaign } from './targets/saip.ts';
import { selftestCampaign } from './targets/selftest.ts';
import { smdpCampaign } from './targets/smdp-http.ts';
import { smdpDbDamageCampaign } from './targets/smdp-db-damage.ts';
import { euiccStateDamageCampaign } from './targets/euicc-state-damage.ts';
import { lpaHostileCampaign } from './targets/lpa-hostile.ts';
import { smdpSlowCampaign } from './targets/smdp-slow.ts';
import { smdpRacesCampaign } from './targets/smdp-races.ts';
import { vpcdBridgeCampaign, vpcdCardCampaign } from './targets/vpcd.ts';

export const CAMPAIGNS: readonly Campaign[] = [
  euiccCampaign,
  derCampaign,
  jsonCampaign,
  activationCodeCampaign,
  saipCampaign,
  certsCampaign,
  bridgeAtCampaign,
  vpcdBridgeCampaign,
  vpcdCardCampaign,
  smdpCampaign,
  smdpDbDamageCampaign,
  euiccStateDamageCampaign,
  lpaHostileCampaign,
  smdpSlowCampaign,
  smdpRacesCampaign,
  ...(process.env['BRIDGELAB_FUZZ_SELFTEST'] === '1' ? [selftestCampaign] : []),
];

export function campaignByName(name: string): Campaign | undefined {
  return CAMPAIGNS.find((c) => c.name === name);
}
