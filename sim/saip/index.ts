// SAIP (SIMalliance/TCA eUICC Profile Package v2.x, GSMA TS.48 test profiles):
// split/join packages, ProfileHeader codec, File/Fcp codec, reading a profile's
// identity and AKA parameters, and ICCID/IMSI personalisation.
export * from './errors.ts';
export * from './package.ts';
export * from './file.ts';
export * from './header.ts';
export * from './ef-imsi.ts';
export * from './profile.ts';
export * from './personalise.ts';
export { encodeTlv, replaceTlv, childWithTag } from './tlv.ts';
