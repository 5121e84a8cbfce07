// The test LPA (SGP.23 S_LPAd): ES10 driver (SGP.22 5.7) over any ApduTransport, ES9+ and
// ES11 HTTPS clients (5.6, 5.8, 6.5), the LPA flows with progress events (3.1.3 download,
// 3.2 local profile management, 3.3 notifications), the vpcd reader-side transport, typed
// errors, and lpac-compatible JSON views. Test doubles live in ./testing (not exported here).
export * from './errors.ts';
export * from './es10.ts';
export * from './rsp-http.ts';
export * from './es9p-client.ts';
export * from './es11-client.ts';
export * from './flows.ts';
export * from './vpcd-transport.ts';
export * from './pcsc-transport.ts';
export * from './vpcd-slots.ts';
export * from './lpa-profile.ts';
export * from './lpac-json.ts';
