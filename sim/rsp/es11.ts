// ES11 (LPA -> SM-DS, SGP.22 5.8): event retrieval. ES11.InitiateAuthentication and the
// request of ES11.AuthenticateClient reuse the ES9+ types (es9p.ts); the SM-DS answers
// AuthenticateClient with AuthenticateClientResponseEs11 'BF40' carrying the event
// entries (eventId + SM-DP+ address). All defined in RSPDefinitions v2.5 (ES9+ binding).
import { choice, explicit, implicit, type Infer, integer, seq, seqOf, utf8 } from './der.ts';
import { TransactionId } from './common.ts';

/** EventEntries: 80 eventId, 81 rspServerAddress (automatically tagged) */
export const EventEntries = seq('EventEntries', {
  eventId: implicit(0, utf8()),
  rspServerAddress: implicit(1, utf8()),
});
export type EventEntries = Infer<typeof EventEntries>;

/** 80 transactionId, A1 SEQUENCE OF EventEntries (automatically tagged) */
export const AuthenticateClientOkEs11 = seq('AuthenticateClientOkEs11', {
  transactionId: implicit(0, TransactionId),
  eventEntries: implicit(1, seqOf(EventEntries)),
});
export type AuthenticateClientOkEs11 = Infer<typeof AuthenticateClientOkEs11>;

/** 'BF40' { A0 AuthenticateClientOkEs11 | 81 authenticateClientError } */
export const AuthenticateClientResponseEs11 = explicit(
  0xbf40,
  choice('AuthenticateClientResponseEs11', {
    authenticateClientOk: implicit(0, AuthenticateClientOkEs11),
    authenticateClientError: implicit(1, integer()),
  }),
);
export type AuthenticateClientResponseEs11 = Infer<typeof AuthenticateClientResponseEs11>;
