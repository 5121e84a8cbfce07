// sim/smdp: the test SM-DP+ (SGP.22 5.6 ES9+, 5.3 ES2+, 3.1.6 inventory states, 2.5 BPP
// binding, 5.8 ES11 / 5.9 ES12 embedded SM-DS) as a real HTTPS server with persistent
// state and misbehaviour switches for negative suites. Start one with startSmdp().
export { startSmdp } from './server.ts';
export type { SmdpOptions, SmdpServer, Es2Helpers, SmdpControl, SmdpInventory, SmdpState, OrderRef, OrderResult } from './server.ts';
export type { Misbehaviour, SmdpFunction, CorruptibleSignature, TransactionIdTarget } from './misbehaviour.ts';
export { parseMisbehaviour, SMDP_FUNCTIONS } from './misbehaviour.ts';
export { RspFunctionError, SmdpError, SmdpConfigError, SmdpStateError, SMDP_STATUS } from './errors.ts';
export { PROFILE_STATES, PROFILE_TRANSITIONS, IllegalTransitionError, type ProfileState, type ProfileEvent } from './inventory-state.ts';
export type { ProfileRecord, OrderRecord, NotificationRecord, EventRecord, BindingRecord } from './db.ts';
export type { SessionRecord, SessionState } from './session.ts';
export type { InventorySpec } from './inventory.ts';
export type { MetadataOverrides } from './metadata.ts';
export { ES11_PATHS, CONTROL_PATHS, DEFAULT_LIMITS, type HttpLimits } from './http.ts';
export { DEFAULT_RETENTION, type RetentionPolicy, type SweepResult } from './retention.ts';
export { NOTIFICATION_POINT, type ProgressDelivery } from './progress.ts';
export { postJson, requestJson, type PostJsonOptions, type JsonReply, HttpClientError } from './https-json.ts';
