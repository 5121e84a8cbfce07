// The software eUICC (SGP.22 2.4 ISD-R/ECASD/ISD-Ps, 5.7 ES10a/b/c over STORE DATA):
// createEuicc() and its options, identities, fault injection, events and state types.
// The card layer (ISO 7816 / ETSI TS 102 221 / GlobalPlatform) is in ./card.
export { createEuicc, type Euicc, type EuiccStateView, type ProfileSnapshot, type NotificationSnapshot } from './euicc.ts';
export { resolveOptions, SVNS, DEFAULT_RAT, ANY_OPERATOR, type EuiccOptions, type ResolvedOptions, type IdentityChoice, type Svn } from './options.ts';
export { sgp26Identity, sgp26Identities, issueFreshIdentities, IdentityError, type EuiccIdentity } from './identity.ts';
export { EuiccFaults, type DelayRule, type ForcedSwRule, type InstallErrorRule, type RemovalRule, type FaultHandle } from './faults.ts';
export { EuiccEvents, type EuiccEventMap, type RefreshEvent, type ProfileEvent, type NotificationAddedEvent } from './events.ts';
export { ES10_FUNCTIONS, type Es10FunctionName } from './functions.ts';
export { StateFileError, type EuiccState, type StoredProfile, type StoredNotification, type BppMarker, type ProfileClass, type NotificationKind } from './state.ts';
export { BPP_COMMAND, ERROR_REASON } from './download.ts';
