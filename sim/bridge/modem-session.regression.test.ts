// Regression test for what the fuzzer (fuzz/, campaign `bridge-at`, seed 2 iteration 799)
// found in the AT path: a stray result code (an OK the modem sent for nothing) taken as
// the answer of the next command left every later answer one command behind, for good,
// since the modem always answered and no timeout ever triggered the resynchronisation:
// the LPA got the answer of its previous APDU to each APDU.
import { describe, expect, it } from 'vitest';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { AtClient, type AtTraceEvent } from './at.ts';
import { ModemSession } from './modem-session.ts';
import { ok, ScriptedPort } from './testing/scripted-port.ts';

const GET_EID = '80E2910006BF3E035C015A00';
const STATUS = '80F2000000';
const EID_ANSWER = 'BF3E125A1089049032123451234512345678901235' + '9000';

describe('fuzz regressions: AT answers out of step', () => {
  it('resynchronises after an answer without its +CSIM line instead of staying one answer behind', async () => {
    let stray = true;
    let backlog: string | undefined;
    const port = new ScriptedPort((line, p) => {
      // an in-order modem: output that is late goes out before the answer to the next command
      if (backlog !== undefined) {
        p.reply(backlog);
        backlog = undefined;
      }
      if (line === 'AT+CSIM=?') return p.reply(ok());
      if (/^AT\+CC(HO|HC)=\?$|^AT\+CGLA=\?$/.test(line)) return p.reply('\r\nERROR\r\n');
      if (line === 'AT+CMEE?') return p.reply(ok('+CMEE: 1'));
      if (line === `AT+CSIM=${GET_EID.length},"${GET_EID}"`) {
        if (stray) {
          // a stray OK first; the real answer comes late
          stray = false;
          p.reply('\r\nOK\r\n');
          backlog = ok(`+CSIM: ${EID_ANSWER.length},"${EID_ANSWER}"`);
          return;
        }
        return p.reply(ok(`+CSIM: ${EID_ANSWER.length},"${EID_ANSWER}"`));
      }
      if (line === `AT+CSIM=${STATUS.length},"${STATUS}"`) return p.reply(ok('+CSIM: 4,"9000"'));
      p.reply(ok());
    });
    const trace: AtTraceEvent[] = [];
    const at = new AtClient(port, { probeTimeoutMs: 100, probeIntervalMs: 5, commandTimeoutMs: 500, onTrace: (e) => trace.push(e) });
    const session = await ModemSession.start(at, { apduTimeoutMs: 500 });
    try {
      expect(session.channelMode).toBe('csim');
      const tx = async (hex: string): Promise<string> => toUpperHex(await session.transmit(hexToBytes(hex)));
      // the stray OK answers GetEID: no +CSIM line -> 6F00 (response-unparseable)
      expect(await tx(GET_EID)).toBe('6F00');
      // before the fix STATUS got the late GetEID answer, GetEID the STATUS answer, and so on
      expect(await tx(STATUS)).toBe('9000');
      expect(await tx(GET_EID)).toBe(EID_ANSWER);
      expect(await tx(STATUS)).toBe('9000');
      expect(trace.some((e) => e.type === 'at-note' && /resynchronising before the next command/.test(e.text))).toBe(true);
      expect(trace.some((e) => e.type === 'at-rx' && e.role === 'stale' && e.line.startsWith('+CSIM: 46'))).toBe(true);
    } finally {
      session.dispose();
      at.close();
    }
  });
});
