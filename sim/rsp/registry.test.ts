import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decode, encode } from './der.ts';
import { EUICCInfo1 } from './common.ts';
import { candidatesForTag, codecs, detectByTag, messageByName, messages, resultNames, toJson } from './registry.ts';
import { derError, h, SGP26_CI_SKI } from './testdata/helpers.ts';
import { samples } from './testdata/samples.ts';

describe('every registered codec round-trips', () => {
  it('has a sample for every message', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(codecs).sort());
  });

  for (const info of messages) {
    it(`${info.name}: build -> encode -> decode -> encode`, () => {
      const value = samples[info.name];
      const der = encode(info.codec, value);
      const back = decode(info.codec, der);
      expect(back).toEqual(value);
      expect(toHex(encode(info.codec, back))).toBe(toHex(der));
      if (info.detectable) {
        const d = detectByTag(der, { type: undefined });
        // detection may pick another message of the same tag only when that one decodes the bytes identically
        if (d.name !== info.name) expect(toHex(encode(messageByName(d.name)!.codec, d.value))).toBe(toHex(der));
      }
    });
  }
});

describe('detectByTag', () => {
  it('prefers the response for non-empty contents, the request for empty contents', () => {
    const info1 = encode(EUICCInfo1, samples['EUICCInfo1'] as never);
    expect(detectByTag(info1).name).toBe('EUICCInfo1');
    expect(detectByTag(h('bf2000')).name).toBe('GetEuiccInfo1Request');
    expect(detectByTag(h('bf2200')).name).toBe('GetEuiccInfo2Request');
    expect(detectByTag(h('bf3c00')).name).toBe('EuiccConfiguredAddressesRequest');
    expect(detectByTag(h('bf2d00')).name).toBe('ProfileInfoListRequest');
    expect(detectByTag(h('bf3e125a1089049032123451234512345678901235')).name).toBe('GetEuiccDataResponse');
  });
  it('falls back to the request when the response does not decode', () => {
    expect(detectByTag(h('bf3e035c015a')).name).toBe('GetEuiccDataRequest');
    const ia = encode(codecs['InitiateAuthenticationRequest']!, samples['InitiateAuthenticationRequest']);
    expect(detectByTag(ia).name).toBe('InitiateAuthenticationRequest');
    const pdr = encode(codecs['PrepareDownloadRequest']!, samples['PrepareDownloadRequest']);
    expect(detectByTag(pdr).name).toBe('PrepareDownloadRequest');
    expect(detectByTag(h('bf4115' + '8010' + '00'.repeat(16) + '810101')).name).toBe('CancelSessionRequest');
  });
  it('honours --type', () => {
    const d = detectByTag(h('bf4103810105'), { type: 'cancelsessionresponseES9' });
    expect(d.name).toBe('CancelSessionResponseEs9');
    expect(d.value).toEqual({ cancelSessionError: 5 });
    expect(detectByTag(h('bf4103810105')).name).toBe('CancelSessionResponse');
    expect(() => detectByTag(h('bf2000'), { type: 'Nope' })).toThrow(/unknown message type Nope/);
  });
  it('lists the candidates of a shared tag', () => {
    expect(candidatesForTag(0xbf41).map((c) => c.name)).toEqual(['CancelSessionResponse', 'CancelSessionResponseEs9', 'CancelSessionRequest', 'CancelSessionRequestEs9']);
    expect(candidatesForTag(0x30)).toEqual([]);
  });
  it('rejects unknown tags and undecodable input with a DerError', () => {
    const e = derError(() => detectByTag(h('bf7f00')));
    expect(e.kind).toBe('unexpectedTag');
    expect(e.tag).toBe(0xbf7f);
    expect(derError(() => detectByTag(h('bf3e035c01'))).kind).toBe('truncated');
    expect(() => detectByTag(h('bf3e03800100'))).toThrow(/GetEuiccDataResponse\.eidValue is missing/);
    // a request with an unknown extension component still decodes (it does not re-encode identically)
    expect(detectByTag(h('bf3e055c015a9000')).name).toBe('GetEuiccDataRequest');
  });
});

describe('toJson / resultNames', () => {
  it('turns bytes into lowercase hex and keeps the rest', () => {
    const v = decode(EUICCInfo1, encode(EUICCInfo1, samples['EUICCInfo1'] as never));
    expect(toJson(v)).toEqual({ svn: '020200', euiccCiPKIdListForVerification: [SGP26_CI_SKI], euiccCiPKIdListForSigning: [SGP26_CI_SKI] });
    expect(toJson({ a: [1, true, null, 'x', h('ABCD')], b: undefined })).toEqual({ a: [1, true, null, 'x', 'abcd'] });
    expect(JSON.stringify(toJson(decode(codecs['ProfileInfoListResponse']!, encode(codecs['ProfileInfoListResponse']!, samples['ProfileInfoListResponse']))))).toContain('"iccid":"98001032547698103214"');
  });
  it('names result codes and enumerations by path', () => {
    expect(resultNames('EnableProfileResponse', { enableResult: 2 })).toEqual({ enableResult: 'profileNotInDisabledState' });
    expect(resultNames('PrepareDownloadResponse', { downloadResponseError: { transactionId: h('01'), downloadErrorCode: 5 } })).toEqual({
      'downloadResponseError.downloadErrorCode': 'invalidTransactionId',
    });
    expect(resultNames('ProfileInfoListResponse', samples['ProfileInfoListResponse'])).toEqual({
      'profileInfoListOk[0].profileState': 'enabled',
      'profileInfoListOk[0].profileClass': 'operational',
      'profileInfoListOk[0].iconType': 'jpg',
    });
    expect(resultNames('DeleteProfileResponse', { deleteResult: 9 })).toEqual({ deleteResult: 'unknown(9)' });
  });
});
