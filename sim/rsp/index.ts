// sim/rsp: SGP.22 v2.x protocol data (RSPDefinitions v2.5). DER schema engine (der.ts),
// codecs per GSMA interface (common, ES10a/b/c, ES8+, ES9+, ES11), named result codes,
// the ES9+/ES11/ES2+ JSON binding (SGP.22 6.5, 5.3) and the message registry used by
// `bridgelab decode`, plus the activation code, EID and ICCID helpers.
export * from './der.ts';
export * from './common.ts';
export * from './es10a.ts';
export * from './es10b.ts';
export * from './es10c.ts';
export * from './es8p.ts';
export * from './es9p.ts';
export * from './es11.ts';
export * from './results.ts';
export * from './json.ts';
export * from './registry.ts';
export * from './activation-code.ts';
export * from './eid.ts';
export * from './iccid.ts';
