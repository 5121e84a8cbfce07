// sim/crypto: the SGP.22 cryptography bridgelab's eUICC, SM-DP+ and LPA share.
// ecdsa.ts / keys.ts are exported here by their owner.
export * from './curves.ts';
export * from './errors.ts';
export * from './ecka.ts';
export * from './kdf.ts';
export * from './bsp.ts';
export * from './confirmation.ts';
