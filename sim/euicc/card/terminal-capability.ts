// TERMINAL CAPABILITY (CLA '80', INS 'AA', P1 P2 '0000'; ETSI TS 102 221 11.1.19): the
// terminal tells the UICC what it supports in a constructed TLV 'A9' holding
//   '80' terminal power supply, '81' extended logical channels terminal support
//   (empty: its presence is the indication; the UICC may then open channels 4-19),
//   '82' additional interfaces support, '83' additional terminal capability
//   indications related to eUICC (SGP.22: LPA capabilities of the device, e.g. LPD/LUI/LDS).
import { SW, StatusWordError } from '../../apdu/apdu.ts';
import { findTlv, parseTlvs, TlvError } from '../../apdu/tlv.ts';

export const INS_TERMINAL_CAPABILITY = 0xaa;
export const TAG_TERMINAL_CAPABILITY = 0xa9;

export interface TerminalCapability {
  /** value of the A9 template */
  readonly raw: Uint8Array;
  readonly powerSupply?: Uint8Array;
  /** tag 81 present */
  readonly extendedLogicalChannels: boolean;
  readonly additionalInterfaces?: Uint8Array;
  /** tag 83 content (first byte: b1 LUId, b2 LPDd, b3 LDSd ... per SGP.22) */
  readonly euiccIndications?: Uint8Array;
}

/** Parse the command data of TERMINAL CAPABILITY; malformed data -> 6A80. */
export function parseTerminalCapability(data: Uint8Array): TerminalCapability {
  let outer;
  try {
    outer = parseTlvs(data);
  } catch (e) {
    if (e instanceof TlvError) throw new StatusWordError(SW.INCORRECT_DATA, `TERMINAL CAPABILITY: ${e.message}`);
    throw e;
  }
  const a9 = findTlv(outer, TAG_TERMINAL_CAPABILITY);
  if (!a9 || outer.length !== 1) throw new StatusWordError(SW.INCORRECT_DATA, 'TERMINAL CAPABILITY data is not one A9 template');
  let inner;
  try {
    inner = parseTlvs(a9.value);
  } catch (e) {
    if (e instanceof TlvError) throw new StatusWordError(SW.INCORRECT_DATA, `TERMINAL CAPABILITY A9: ${e.message}`);
    throw e;
  }
  const power = findTlv(inner, 0x80)?.value;
  const interfaces = findTlv(inner, 0x82)?.value;
  const euicc = findTlv(inner, 0x83)?.value;
  return {
    raw: a9.value,
    extendedLogicalChannels: findTlv(inner, 0x81) !== undefined,
    ...(power ? { powerSupply: power } : {}),
    ...(interfaces ? { additionalInterfaces: interfaces } : {}),
    ...(euicc ? { euiccIndications: euicc } : {}),
  };
}
