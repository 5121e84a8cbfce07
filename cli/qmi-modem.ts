// `bridgelab qmi-modem`: the fake QMI modem (sim/qmi) on a PTY; see cli/wwan-modem.ts.
import type { ApduTransport } from '../sim/apdu/apdu.ts';
import { toHex } from '../sim/bytes.ts';
import { QmiModem } from '../sim/qmi/modem.ts';
import { DEFAULT_QMI_PERSONALITY, listQmiPersonalities, loadQmiPersonality } from '../sim/qmi/personality.ts';
import { wwanModemCommand, type WwanModemDeps, type WwanModemKind } from './wwan-modem.ts';

export const QMI_MODEM: WwanModemKind = {
  command: 'qmi-modem',
  protocol: 'QMI',
  defaultPersonality: DEFAULT_QMI_PERSONALITY,
  list: listQmiPersonalities,
  describe: (n) => loadQmiPersonality(n).description,
  create: (personality: string, card: ApduTransport, trace) =>
    new QmiModem({
      personality: loadQmiPersonality(personality),
      card,
      ...(trace
        ? {
            onTrace: (e) => {
              if (e.kind === 'apdu') trace(`   card ch${e.channel} ${toHex(e.capdu)} : ${toHex(e.rapdu)}`);
              else if (e.kind === 'framing') trace(`   (framing: ${e.error})`);
              else trace(`${e.kind === 'in' ? '<-' : '->'} service 0x${e.message.service.toString(16)} cid ${e.message.clientId} msg 0x${e.message.messageId.toString(16).padStart(4, '0')} tid ${e.message.transactionId}`);
            },
          }
        : {}),
    }),
  clientHint: (path) => `qmicli -d ${path} --device-open-qmi --uim-get-card-status`,
};

export function qmiModemCommand(args: string[], deps: WwanModemDeps): Promise<number> {
  return wwanModemCommand(QMI_MODEM, args, deps);
}
