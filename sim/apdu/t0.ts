// The T=0 procedure a terminal (TE) runs on top of APDU exchange (ISO/IEC 7816-3:2006
// 12.2.2-12.2.4, ETSI TS 102 221 7.3.1.1.4): on SW1=6C it resends the same command
// with Le=SW2; on SW1=61 it sends GET RESPONSE (INS C0, P1P2 0000, Le=SW2) on the same
// logical channel and concatenates the data until a final status word. GET RESPONSE
// is class '0X' per TS 102 221; lpac sends '8X', so the class is configurable.
import { buildCommand, responseData, responseSw, withLe } from './apdu.ts';
import { concatBytes } from '../bytes.ts';
import { decodeCla, withChannel } from './channels.ts';

export type ApduSender = (capdu: Uint8Array) => Promise<Uint8Array>;

export const INS_GET_RESPONSE = 0xc0;

export interface T0ProcedureOptions {
  /** base class of GET RESPONSE, channel bits added: 0x00 (ISO / TS 102 221, default) or 0x80 (lpac) */
  readonly getResponseClass?: number;
  /** give up after this many exchanges (default 1024: 256 KiB of 61xx chaining) */
  readonly maxExchanges?: number;
}

export class T0ProcedureError extends Error {
  override readonly name = 'T0ProcedureError';
}

/** GET RESPONSE for `channel`, Le = `le` (1..256). */
export function buildGetResponse(channel: number, le: number, getResponseClass = 0x00): Uint8Array {
  return buildCommand({ cla: withChannel(getResponseClass, channel), ins: INS_GET_RESPONSE, p1: 0, p2: 0, le });
}

/**
 * Send `capdu` and run the T=0 procedure bytes 61xx / 6Cxx. Returns all response data
 * followed by the final SW. Every exchange goes through `send`, so a trace sees them.
 */
export async function transmitWithT0Procedure(send: ApduSender, capdu: Uint8Array, options: T0ProcedureOptions = {}): Promise<Uint8Array> {
  const max = options.maxExchanges ?? 1024;
  // channel from the CLA byte alone, so that malformed commands (negative tests) still go out
  const cla = decodeCla(capdu[0] ?? 0);
  const channel = cla.structured ? cla.channel : 0;
  const grClass = options.getResponseClass ?? 0x00;
  const chunks: Uint8Array[] = [];
  let command = capdu;
  for (let exchanges = 1; ; exchanges++) {
    if (exchanges > max) throw new T0ProcedureError(`T=0 procedure did not end after ${max} exchanges`);
    const r = await send(command);
    const sw = responseSw(r);
    const sw1 = sw >> 8;
    const sw2 = sw & 0xff;
    if (sw1 === 0x6c) {
      // wrong Le: the card discarded the command; resend it with the exact Le
      command = withLe(command, sw2 === 0 ? 256 : sw2);
      continue;
    }
    chunks.push(responseData(r));
    if (sw1 === 0x61) {
      command = buildGetResponse(channel, sw2 === 0 ? 256 : sw2, grClass);
      continue;
    }
    return concatBytes(...chunks, Uint8Array.of(sw1, sw2));
  }
}
