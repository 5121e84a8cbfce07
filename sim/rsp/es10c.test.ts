import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decode, encode } from './der.ts';
import {
  DeleteProfileRequest,
  DeleteProfileResponse,
  EnableProfileRequest,
  EnableProfileResponse,
  GetEuiccDataRequest,
  GetEuiccDataResponse,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  SetNicknameRequest,
} from './es10c.ts';
import { EnableProfileResult, ProfileClasses, ProfileStates } from './results.ts';
import { derError, expectRoundTrip, h } from './testdata/helpers.ts';

const EID = '89049032123451234512345678901235';
const ICCID1 = '98001032547698103214'; // 89000123456789012341 (TS.48), nibble-swapped
const ICCID2 = '98001032547698103258';

describe('ES10c.GetEID (BF3E)', () => {
  it("decodes lpac's request bf3e035c015a", () => {
    expectRoundTrip(GetEuiccDataRequest, 'bf3e035c015a', { tagList: h('5a') });
  });
  it('decodes the response with the SGP.26 EID', () => {
    expectRoundTrip(GetEuiccDataResponse, 'bf3e125a10' + EID, { eidValue: h(EID) });
  });
  it('rejects an EID of the wrong size with the offset of the 5A', () => {
    const e = derError(() => decode(GetEuiccDataResponse, h('bf3e115a0f' + EID.slice(0, 30))));
    expect(e.kind).toBe('invalidValue');
    expect(e.tag).toBe(0x5a);
    expect(e.offset).toBe(3);
  });
});

describe('ES10c.GetProfilesInfo (BF2D)', () => {
  const p1 = 'e33a' + '5a0a' + ICCID1 + '4f10a0000005591010ffffffff8900001000' + '9f700101' + '9004576f726b' + '910447534d41' + '920754533438205632' + '950102';
  const p2 =
    'e376' + '5a0a' + ICCID2 + '4f10a0000005591010ffffffff8900001100' + '9f700100' + '9000' + '910754657374204f70' + '920c546573742050726f66696c65' +
    '930101' + '940489504e47' + '950100' + 'b6183016800207808110736d64702e6578616d706c652e636f6d' + 'b708800300f1108101ff' + 'b80580038837' + '01' + '99020640';
  const hex = 'bf2d81b7' + 'a081b4' + p1 + p2;

  it('decodes a ProfileInfoListResponse with two profiles and re-encodes byte-exactly', () => {
    const v = expectRoundTrip(ProfileInfoListResponse, hex, {
      profileInfoListOk: [
        {
          iccid: h(ICCID1),
          isdpAid: h('a0000005591010ffffffff8900001000'),
          profileState: ProfileStates.enabled,
          profileNickname: 'Work',
          serviceProviderName: 'GSMA',
          profileName: 'TS48 V2',
          profileClass: ProfileClasses.operational,
        },
        {
          iccid: h(ICCID2),
          isdpAid: h('a0000005591010ffffffff8900001100'),
          profileState: ProfileStates.disabled,
          profileNickname: '',
          serviceProviderName: 'Test Op',
          profileName: 'Test Profile',
          iconType: 1,
          icon: h('89504e47'),
          profileClass: ProfileClasses.test,
          notificationConfigurationInfo: [{ profileManagementOperation: ['notificationInstall'], notificationAddress: 'smdp.example.com' }],
          profileOwner: { mccMnc: h('00f110'), gid1: h('ff') },
          dpProprietaryData: { dpOid: '2.999.1' },
          profilePolicyRules: ['ppr1'],
        },
      ],
    });
    expect('profileInfoListOk' in v).toBe(true);
  });

  it('decodes the error alternative (81)', () => {
    expectRoundTrip(ProfileInfoListResponse, 'bf2d03810101', { profileInfoListError: 1 });
  });

  it('encodes the request with an explicit searchCriteria and a tag list', () => {
    expectRoundTrip(ProfileInfoListRequest, 'bf2d11a00c5a0a' + ICCID1 + '5c015a', { searchCriteria: { iccid: h(ICCID1) }, tagList: h('5a') });
    expectRoundTrip(ProfileInfoListRequest, 'bf2d00', {});
    expectRoundTrip(ProfileInfoListRequest, 'bf2d05a003950100', { searchCriteria: { profileClass: 0 } });
  });
});

describe('ES10c.Enable/Delete/SetNickname', () => {
  it('EnableProfile: A0 { 5A } explicit, 81 refreshFlag', () => {
    expectRoundTrip(EnableProfileRequest, 'bf3111a00c5a0a' + ICCID1 + '8101ff', { profileIdentifier: { iccid: h(ICCID1) }, refreshFlag: true });
    const r = expectRoundTrip(EnableProfileResponse, 'bf3103800102', { enableResult: 2 });
    expect(EnableProfileResult.nameOf(r.enableResult)).toBe('profileNotInDisabledState');
  });
  it('DeleteProfile request is an explicitly tagged CHOICE (BF33 wrapping 5A or 4F)', () => {
    expectRoundTrip(DeleteProfileRequest, 'bf330c5a0a' + ICCID1, { iccid: h(ICCID1) });
    expectRoundTrip(DeleteProfileRequest, 'bf33124f10a0000005591010ffffffff8900001000', { isdpAid: h('a0000005591010ffffffff8900001000') });
    expectRoundTrip(DeleteProfileResponse, 'bf3303800100', { deleteResult: 0 });
  });
  it('SetNickname: 5A iccid, 90 nickname', () => {
    expect(toHex(encode(SetNicknameRequest, { iccid: h(ICCID1), profileNickname: 'Home' }))).toBe('bf29125a0a' + ICCID1 + '9004486f6d65');
  });
});
