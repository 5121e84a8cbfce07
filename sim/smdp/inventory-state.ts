// Profile states at the SM-DP+ (SGP.22 3.1.6 "Profile Download and Installation"
// states: Available, Allocated, Linked, Confirmed, Released, Downloaded, Installed,
// Error, Unavailable) and the only transitions this server performs, each named by
// the event that causes it (ES2+ 5.3.1-5.3.4, ES9+ 5.6.2/5.6.4/5.6.5). Anything else
// is an IllegalTransitionError, which ES2+ reports as 8.2.1/3.5.
import { SmdpError } from './errors.ts';

export const PROFILE_STATES = ['Available', 'Allocated', 'Linked', 'Confirmed', 'Released', 'Downloaded', 'Installed', 'Error', 'Unavailable'] as const;
export type ProfileState = (typeof PROFILE_STATES)[number];

export type ProfileEvent =
  | 'downloadOrder'
  | 'downloadOrderWithEid'
  | 'confirmOrder'
  | 'confirmOrderAndRelease'
  | 'releaseProfile'
  | 'cancelOrderAvailable'
  | 'cancelOrderUnavailable'
  | 'bppDownloaded'
  | 'installSuccess'
  | 'installFailure'
  | 'sessionAborted';

/** from-state -> event -> to-state */
export const PROFILE_TRANSITIONS: Readonly<Record<ProfileState, Partial<Record<ProfileEvent, ProfileState>>>> = {
  Available: { downloadOrder: 'Allocated', downloadOrderWithEid: 'Linked' },
  Allocated: { confirmOrder: 'Confirmed', confirmOrderAndRelease: 'Released', cancelOrderAvailable: 'Available', cancelOrderUnavailable: 'Unavailable' },
  Linked: { confirmOrder: 'Confirmed', confirmOrderAndRelease: 'Released', cancelOrderAvailable: 'Available', cancelOrderUnavailable: 'Unavailable' },
  Confirmed: { releaseProfile: 'Released', cancelOrderAvailable: 'Available', cancelOrderUnavailable: 'Unavailable' },
  Released: { bppDownloaded: 'Downloaded', sessionAborted: 'Error', cancelOrderAvailable: 'Available', cancelOrderUnavailable: 'Unavailable' },
  // A downloaded BPP may be installed on its eUICC whatever the SM-DP+ hears later: the
  // ICCID must never go to a second eUICC, so a cancelled order leaves it Unavailable.
  Downloaded: {
    installSuccess: 'Installed',
    installFailure: 'Error',
    sessionAborted: 'Error',
    cancelOrderUnavailable: 'Unavailable',
  },
  Installed: {},
  Error: { cancelOrderAvailable: 'Available', cancelOrderUnavailable: 'Unavailable' },
  Unavailable: {},
};

export class IllegalTransitionError extends SmdpError {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: ProfileState,
    readonly event: ProfileEvent,
    readonly iccid: string,
  ) {
    super(`profile ${iccid}: '${event}' is not allowed in state ${from}`);
  }
}

export function isProfileState(s: string): s is ProfileState {
  return (PROFILE_STATES as readonly string[]).includes(s);
}

/** The state `event` leads to from `from`, or undefined when the event is not allowed there. */
export function nextState(from: ProfileState, event: ProfileEvent): ProfileState | undefined {
  return PROFILE_TRANSITIONS[from][event];
}

/** The state `event` leads to; throws IllegalTransitionError when it is not allowed. */
export function transition(from: ProfileState, event: ProfileEvent, iccid: string): ProfileState {
  const to = nextState(from, event);
  if (to === undefined) throw new IllegalTransitionError(from, event, iccid);
  return to;
}

/** States in which a download (ES9+ authenticateClient/getBoundProfilePackage) may run: first attempt or retry. */
export const DOWNLOADABLE_STATES: readonly ProfileState[] = ['Released', 'Downloaded'];
/** States of an order that exists but has not been released to the eUICC yet. */
export const NOT_RELEASED_STATES: readonly ProfileState[] = ['Allocated', 'Linked', 'Confirmed'];
