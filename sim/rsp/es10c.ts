// ES10c (LPA -> ISD-R, local profile management, SGP.22 5.7.15-5.7.21): GetProfilesInfo
// 'BF2D', EnableProfile 'BF31', DisableProfile 'BF32', DeleteProfile 'BF33',
// eUICCMemoryReset 'BF34', GetEID 'BF3E', SetNickname 'BF29'; plus LpaeActivation 'BF42'
// (LPA in the eUICC). Request and response share their tag; the `profileIdentifier`
// CHOICE components are automatically tagged [0] and therefore EXPLICIT ('A0').
import { boolean, choice, explicit, flags, implicit, type Infer, integer, octets, opt, seq, seqOf, utf8 } from './der.ts';
import { Iccid, IsdpAid, Octet1, Octet16, ProfileClass, ProfileInfo } from './common.ts';

// ---------------------------------------------------------------------------
// GetProfilesInfo (5.7.15)

/** 'BF2D' { A0 { 4F isdpAid | 5A iccid | 95 profileClass }?, 5C tagList? } */
export const ProfileInfoListRequest = implicit(
  0xbf2d,
  seq('ProfileInfoListRequest', {
    searchCriteria: opt(
      explicit(
        0,
        choice('SearchCriteria', {
          isdpAid: IsdpAid,
          iccid: Iccid,
          profileClass: implicit(21, ProfileClass),
        }),
      ),
    ),
    /** the tags of the ProfileInfo fields wanted, e.g. 5A 90 91 92 9F70 95 */
    tagList: opt(implicit(0x5c, octets(undefined, 'TagList'))),
  }),
);
export type ProfileInfoListRequest = Infer<typeof ProfileInfoListRequest>;

/** 'BF2D' { A0 SEQUENCE OF ProfileInfo | 81 profileInfoListError } */
export const ProfileInfoListResponse = explicit(
  0xbf2d,
  choice('ProfileInfoListResponse', {
    profileInfoListOk: implicit(0, seqOf(ProfileInfo)),
    profileInfoListError: implicit(1, integer('ProfileInfoListError')),
  }),
);
export type ProfileInfoListResponse = Infer<typeof ProfileInfoListResponse>;

// ---------------------------------------------------------------------------
// Enable / Disable / Delete (5.7.16-5.7.18)

const ProfileIdentifier = explicit(0, choice('ProfileIdentifier', { isdpAid: IsdpAid, iccid: Iccid }));

/** 'BF31' { A0 { 4F | 5A }, 81 refreshFlag } */
export const EnableProfileRequest = implicit(
  0xbf31,
  seq('EnableProfileRequest', { profileIdentifier: ProfileIdentifier, refreshFlag: implicit(1, boolean()) }),
);
export type EnableProfileRequest = Infer<typeof EnableProfileRequest>;

/** 'BF31' { 80 enableResult } */
export const EnableProfileResponse = implicit(0xbf31, seq('EnableProfileResponse', { enableResult: implicit(0, integer()) }));
export type EnableProfileResponse = Infer<typeof EnableProfileResponse>;

/** 'BF32' { A0 { 4F | 5A }, 81 refreshFlag } */
export const DisableProfileRequest = implicit(
  0xbf32,
  seq('DisableProfileRequest', { profileIdentifier: ProfileIdentifier, refreshFlag: implicit(1, boolean()) }),
);
export type DisableProfileRequest = Infer<typeof DisableProfileRequest>;

/** 'BF32' { 80 disableResult } */
export const DisableProfileResponse = implicit(0xbf32, seq('DisableProfileResponse', { disableResult: implicit(0, integer()) }));
export type DisableProfileResponse = Infer<typeof DisableProfileResponse>;

/** `[51] CHOICE`: EXPLICIT 'BF33' wrapping 4F isdpAid | 5A iccid. */
export const DeleteProfileRequest = explicit(0xbf33, choice('DeleteProfileRequest', { isdpAid: IsdpAid, iccid: Iccid }));
export type DeleteProfileRequest = Infer<typeof DeleteProfileRequest>;

/** 'BF33' { 80 deleteResult } */
export const DeleteProfileResponse = implicit(0xbf33, seq('DeleteProfileResponse', { deleteResult: implicit(0, integer()) }));
export type DeleteProfileResponse = Infer<typeof DeleteProfileResponse>;

// ---------------------------------------------------------------------------
// eUICCMemoryReset (5.7.19)

export const ResetOptions = flags(['deleteOperationalProfiles', 'deleteFieldLoadedTestProfiles', 'resetDefaultSmdpAddress'] as const, 'ResetOptions');

/** 'BF34' { 82 resetOptions } */
export const EuiccMemoryResetRequest = implicit(0xbf34, seq('EuiccMemoryResetRequest', { resetOptions: implicit(2, ResetOptions) }));
export type EuiccMemoryResetRequest = Infer<typeof EuiccMemoryResetRequest>;

/** 'BF34' { 80 resetResult } */
export const EuiccMemoryResetResponse = implicit(0xbf34, seq('EuiccMemoryResetResponse', { resetResult: implicit(0, integer()) }));
export type EuiccMemoryResetResponse = Infer<typeof EuiccMemoryResetResponse>;

// ---------------------------------------------------------------------------
// GetEID (5.7.20)

/** 'BF3E' { 5C tagList = '5A' } */
export const GetEuiccDataRequest = implicit(0xbf3e, seq('GetEuiccDataRequest', { tagList: implicit(0x5c, Octet1) }));
export type GetEuiccDataRequest = Infer<typeof GetEuiccDataRequest>;

/** 'BF3E' { 5A eidValue (16 bytes, the 32 EID digits as BCD) } */
export const GetEuiccDataResponse = implicit(0xbf3e, seq('GetEuiccDataResponse', { eidValue: implicit(0x5a, Octet16) }));
export type GetEuiccDataResponse = Infer<typeof GetEuiccDataResponse>;

// ---------------------------------------------------------------------------
// SetNickname (5.7.21)

/** 'BF29' { 5A iccid, 90 profileNickname } */
export const SetNicknameRequest = implicit(
  0xbf29,
  seq('SetNicknameRequest', { iccid: Iccid, profileNickname: implicit(16, utf8({ max: 64 })) }),
);
export type SetNicknameRequest = Infer<typeof SetNicknameRequest>;

/** 'BF29' { 80 setNicknameResult } */
export const SetNicknameResponse = implicit(0xbf29, seq('SetNicknameResponse', { setNicknameResult: implicit(0, integer()) }));
export type SetNicknameResponse = Infer<typeof SetNicknameResponse>;

// ---------------------------------------------------------------------------
// LPAe activation (LPA in the eUICC)

export const LpaeOption = flags(['activateCatBasedLpae', 'activateScwsBasedLpae'] as const, 'LpaeOption');

/** 'BF42' { 80 lpaeOption } */
export const LpaeActivationRequest = implicit(0xbf42, seq('LpaeActivationRequest', { lpaeOption: implicit(0, LpaeOption) }));
export type LpaeActivationRequest = Infer<typeof LpaeActivationRequest>;

/** 'BF42' { 80 lpaeActivationResult {ok(0), notSupported(1)} } */
export const LpaeActivationResponse = implicit(
  0xbf42,
  seq('LpaeActivationResponse', { lpaeActivationResult: implicit(0, integer()) }),
);
export type LpaeActivationResponse = Infer<typeof LpaeActivationResponse>;
