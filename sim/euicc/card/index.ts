// Card layer of the software eUICC: ATR, logical channels and command dispatch
// (ISO/IEC 7816-4, ETSI TS 102 221), the UICC/USIM file system a modem reads, and the
// applet interface the ISD-R implements (GlobalPlatform STORE DATA, SGP.22 5.7).
export * from '../../apdu/atr.ts';
export * from './filesystem.ts';
export * from './terminal-capability.ts';
export * from './applet.ts';
export * from './card.ts';
