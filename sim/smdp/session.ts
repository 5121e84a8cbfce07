// RSP session state machine, one per transactionId (SGP.22 3.1.3 common mutual
// authentication, 5.6.1-5.6.5 ES9+, 5.8.1-5.8.2 ES11): what each ES9+/ES11 function
// requires of the session and what it leaves it in. Sessions are persisted (db.ts)
// after every step so that a restarted server continues them. A function called in a
// state that does not allow it is answered like an unknown transaction (8.10.1/3.9).
import type { SessionKind, SessionRecord, SessionState } from './records.ts';

export type { SessionKind, SessionRecord, SessionState } from './records.ts';

export type SessionFunction = 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession' | 'es11.authenticateClient';

/** States in which each function may run. */
export const SESSION_ALLOWS: Readonly<Record<SessionFunction, readonly SessionState[]>> = {
  authenticateClient: ['authInitiated'],
  'es11.authenticateClient': ['authInitiated'],
  getBoundProfilePackage: ['clientAuthenticated', 'bppDelivered'],
  handleNotification: ['bppDelivered'],
  cancelSession: ['authInitiated', 'clientAuthenticated', 'bppDelivered', 'failed'],
};

export const SESSION_KIND_OF: Readonly<Record<SessionFunction, SessionKind>> = {
  authenticateClient: 'es9',
  'es11.authenticateClient': 'es11',
  getBoundProfilePackage: 'es9',
  handleNotification: 'es9',
  cancelSession: 'es9',
};

export function sessionAllows(session: Pick<SessionRecord, 'kind' | 'state'>, fn: SessionFunction): boolean {
  return session.kind === SESSION_KIND_OF[fn] && SESSION_ALLOWS[fn].includes(session.state);
}
