// APDU layer shared by the eUICC, the test LPA, the fake modem and the bridge:
// C-APDU/R-APDU model and status words (ISO/IEC 7816-3/-4), logical channel CLA
// coding, the T=0 procedure bytes, GlobalPlatform STORE DATA segmentation and a
// small BER-TLV helper.
export * from './apdu.ts';
export * from './channels.ts';
export * from './t0.ts';
export * from './store-data.ts';
export * from './tlv.ts';
export * from './atr.ts';
