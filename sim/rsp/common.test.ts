import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decode, derOf, encode } from './der.ts';
import { CtxParams1, DeviceInfo, EUICCInfo1, EUICCInfo2, NotificationEvent, PprIds, RspCapability, UICCCapability } from './common.ts';
import { expectRoundTrip, h, SGP26_CI_SKI } from './testdata/helpers.ts';

describe('EUICCInfo1 (BF20)', () => {
  it('decodes the SGP.26 CI key id in both lists and re-encodes byte-exactly', () => {
    const hex = 'bf2035' + '820302' + '0200' + 'a916' + '0414' + SGP26_CI_SKI + 'aa16' + '0414' + SGP26_CI_SKI;
    expectRoundTrip(EUICCInfo1, hex, {
      svn: h('020200'),
      euiccCiPKIdListForVerification: [h(SGP26_CI_SKI)],
      euiccCiPKIdListForSigning: [h(SGP26_CI_SKI)],
    });
  });
});

describe('EUICCInfo2 (BF22)', () => {
  // ppVersion and sasAcreditationNumber are untagged in a SEQUENCE that tags others: universal 04 and 0C.
  const hex =
    'bf228184' +
    '8103020300' + '8203020200' + '8303040201' +
    '840d810100820400047c2883022210' +
    '8504067fb6c0' + '8603090200' + '8703020300' + '880204f0' +
    'a9160414' + SGP26_CI_SKI + 'aa160414' + SGP26_CI_SKI +
    '8b0102' + '99020640' +
    '0403010000' + '0c0d' + '47492d42412d55502d30343139' +
    'af050403020100';
  it('decodes a full v2.x EUICCInfo2 and re-encodes it byte-exactly', () => {
    expectRoundTrip(EUICCInfo2, hex, {
      profileVersion: h('020300'),
      svn: h('020200'),
      euiccFirmwareVer: h('040201'),
      extCardResource: h('810100820400047c2883022210'),
      uiccCapability: ['usimSupport', 'isimSupport', 'csimSupport', 'akaMilenage', 'akaCave', 'akaTuak128', 'akaTuak256', 'usimTestAlgorithm', 'gbaAuthenUsim', 'gbaAuthenISim', 'eapClient', 'javacard', 'multipleUsimSupport', 'multipleIsimSupport'],
      ts102241Version: h('090200'),
      globalplatformVersion: h('020300'),
      rspCapability: ['additionalProfile', 'crlSupport', 'rpmSupport', 'testProfileSupport'],
      euiccCiPKIdListForVerification: [h(SGP26_CI_SKI)],
      euiccCiPKIdListForSigning: [h(SGP26_CI_SKI)],
      euiccCategory: 2,
      forbiddenProfilePolicyRules: ['ppr1'],
      ppVersion: h('010000'),
      sasAcreditationNumber: 'GI-BA-UP-0419',
      additionalEuiccProfilePackageVersions: [h('020100')],
    });
  });

  it('rejects a missing mandatory component and names it', () => {
    // remove ppVersion (04 03 010000): sasAcreditationNumber follows directly
    const without = hex.replace('0403010000', '').replace('bf228184', 'bf227f');
    expect(() => decode(EUICCInfo2, h(without))).toThrow(/EUICCInfo2\.ppVersion is missing/);
  });

  it('skips components of later SGP.22 versions but keeps them in the received DER', () => {
    // an unknown [16] constructed component (B0) appended at the end
    const ext = 'bf228188' + hex.slice(8) + 'b0020500';
    const v = decode(EUICCInfo2, h(ext));
    expect(v.sasAcreditationNumber).toBe('GI-BA-UP-0419');
    expect(toHex(derOf(EUICCInfo2, v))).toBe(ext);
    expect(toHex(encode(EUICCInfo2, v))).toBe(hex);
  });
});

describe('named BIT STRINGs', () => {
  it('NotificationEvent uses SGP.22 bit order (install = 0x80)', () => {
    expect(toHex(encode(NotificationEvent, ['notificationInstall']))).toBe('03020780');
    expect(toHex(encode(NotificationEvent, ['notificationEnable']))).toBe('03020640');
    expect(toHex(encode(NotificationEvent, ['notificationDisable']))).toBe('03020520');
    expect(toHex(encode(NotificationEvent, ['notificationDelete']))).toBe('03020410');
  });
  it('PprIds, RspCapability and UICCCapability name their bits', () => {
    expect(decode(PprIds, h('03020540'))).toEqual(['ppr1']);
    expect(decode(RspCapability, h('030202fc'))).toEqual(['additionalProfile', 'crlSupport', 'rpmSupport', 'testProfileSupport', 'deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport']);
    expect(decode(UICCCapability, h('030500000000' + '01'))).toEqual(['iotminimal']);
  });
});

describe('DeviceInfo / CtxParams1', () => {
  it('uses automatic tags: A0 { 80 matchingId, A1 { 80 tac, A1 caps, 82 imei } }', () => {
    const hex = 'a0' + '28' + '8008' + '4142432d31323334' + 'a11c' + '8004' + '35290611' + 'a10a' + '8503' + '0f0000' + '8b03' + '020500' + '8208' + '3529061100000010';
    // lengths: matchingId 2+8, deviceInfo 2+4 + 2+10 + 2+8 = 28 (0x1c); total 10 + 30 = 40 (0x28)
    expectRoundTrip(CtxParams1, hex, {
      ctxParamsForCommonAuthentication: {
        matchingId: 'ABC-1234',
        deviceInfo: { tac: h('35290611'), deviceCapabilities: { eutranEpcSupportedRelease: h('0f0000'), lpaSvn: h('020500') }, imei: h('3529061100000010') },
      },
    });
  });
  it('DeviceInfo alone is a universal SEQUENCE', () => {
    expect(toHex(encode(DeviceInfo, { tac: h('35290611'), deviceCapabilities: {} }))).toBe('3008800435290611a100');
  });
});
