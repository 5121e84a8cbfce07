// `bridgelab mbim-modem`: the fake MBIM modem (sim/mbim) on a PTY; see cli/wwan-modem.ts.
import type { ApduTransport } from '../sim/apdu/apdu.ts';
import { toHex } from '../sim/bytes.ts';
import { MbimModem } from '../sim/mbim/modem.ts';
import { DEFAULT_MBIM_PERSONALITY, listMbimPersonalities, loadMbimPersonality } from '../sim/mbim/personality.ts';
import { wwanModemCommand, type WwanModemDeps, type WwanModemKind } from './wwan-modem.ts';

export const MBIM_MODEM: WwanModemKind = {
  command: 'mbim-modem',
  protocol: 'MBIM',
  defaultPersonality: DEFAULT_MBIM_PERSONALITY,
  list: listMbimPersonalities,
  describe: (n) => loadMbimPersonality(n).description,
  create: (personality: string, card: ApduTransport, trace) =>
    new MbimModem({
      personality: loadMbimPersonality(personality),
      card,
      ...(trace
        ? {
            onTrace: (e) => {
              if (e.kind === 'apdu') trace(`   card ch${e.channel} ${toHex(e.capdu)} : ${toHex(e.rapdu)}`);
              else if (e.kind === 'framing') trace(`   (framing: ${e.error})`);
              else trace(`${e.kind === 'in' ? '<-' : '->'} type 0x${e.message.type.toString(16)} tid ${e.message.tid}${'cid' in e.message ? ` ${e.message.service} cid ${e.message.cid}` : ''}${'status' in e.message ? ` status 0x${e.message.status.toString(16)}` : ''}`);
            },
          }
        : {}),
    }),
  clientHint: (path) => `mbimcli -d ${path} --ms-query-uicc-atr`,
};

export function mbimModemCommand(args: string[], deps: WwanModemDeps): Promise<number> {
  return wwanModemCommand(MBIM_MODEM, args, deps);
}
