// Embedded SM-DS (SGP.22 5.8 ES11, 5.9 ES12, 3.6 event registration and retrieval):
// ES11.InitiateAuthentication (5.8.1) is the common mutual authentication against the
// SM-DS address; ES11.AuthenticateClient (5.8.2) authenticates the eUICC and answers the
// event records registered for its EID (eventId = MatchingID, rspServerAddress = this
// SM-DP+), so an LPA can discover a pending profile without an activation code.
// ES12.RegisterEvent/DeleteEvent are SmdpCore.registerEvent/deleteEvent (core.ts).
import { parseAuthenticateClientRequest, parseEs11InitiateAuthenticationRequest, transactionIdToHex, type Es11AuthenticateClientOkJson, type InitiateAuthenticationOkJson } from '../rsp/json.ts';
import { hexToBytes } from '../bytes.ts';
import { RspFunctionError, SMDP_STATUS } from './errors.ts';
import type { SmdpCore } from './core.ts';
import { guarded, initiateAuthentication, sessionFor, verifyAuthenticateServerResponse } from './auth.ts';
import { wrongTransactionId } from './misbehaviour.ts';

export function es11InitiateAuthentication(core: SmdpCore, body: unknown, ctx: { clientAddress: string }): InitiateAuthenticationOkJson {
  const req = parseEs11InitiateAuthenticationRequest(body);
  return initiateAuthentication(core, { kind: 'es11', euiccChallenge: req.euiccChallenge, euiccInfo1: req.euiccInfo1, address: req.smdsAddress, clientAddress: ctx.clientAddress });
}

export function es11AuthenticateClient(core: SmdpCore, body: unknown): Es11AuthenticateClientOkJson {
  const req = parseAuthenticateClientRequest(body);
  const session = sessionFor(core, req.transactionId, 'es11.authenticateClient');
  return guarded(core, session, () => {
    const auth = verifyAuthenticateServerResponse(core, session, 'authenticateServerResponse', req.authenticateServerResponse);
    return core.db.tx(() => {
      let events = core.db.events.values().filter((e) => e.eid === auth.eid);
      const eventId = auth.ctx.matchingId;
      if (eventId) {
        events = events.filter((e) => e.eventId === eventId);
        if (events.length === 0) throw new RspFunctionError(SMDP_STATUS.EventIdUnknown, `no event ${eventId} for EID ${auth.eid}`);
      }
      events.sort((a, b) => a.createdAt - b.createdAt);
      core.db.sessions.put(session.transactionId, { ...session, state: 'completed', eid: auth.eid, updatedAt: core.now() });
      core.log('info', `SM-DS session ${session.transactionId}: ${events.length} event(s) for EID ${auth.eid}`);
      const txid = hexToBytes(session.transactionId);
      return {
        transactionId: transactionIdToHex(core.misbehaviour.wrongTransactionId?.includes('response') ? wrongTransactionId(txid) : txid),
        eventEntries: events.map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress })),
      };
    });
  });
}
