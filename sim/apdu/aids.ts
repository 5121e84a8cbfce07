// Application identifiers every party of bridgelab names: the ISD-R and the ECASD of
// an eUICC (SGP.02 Annex H, used unchanged by SGP.22 2.2), as upper-case hex. One
// definition so the card, the modem models, the bridge's allow-list and the suites
// cannot drift apart.
export const ISD_R_AID_HEX = 'A0000005591010FFFFFFFF8900000100';
export const ECASD_AID_HEX = 'A0000005591010FFFFFFFF8900000200';
