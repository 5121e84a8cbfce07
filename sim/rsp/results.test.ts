import { describe, expect, it } from 'vitest';
import {
  AuthenticateErrorCode,
  BppCommandId,
  CancelSessionReason,
  DeleteProfileResult,
  DisableProfileResult,
  DownloadErrorCode,
  EnableProfileResult,
  ErrorReason,
  EuiccMemoryResetResult,
  GetBoundProfilePackageError,
  ProfileStates,
  SetNicknameResult,
} from './results.ts';

describe('result code names (RSPDefinitions v2.5)', () => {
  it('AuthenticateServer and PrepareDownload errors', () => {
    expect(AuthenticateErrorCode.entries).toEqual([
      ['invalidCertificate', 1],
      ['invalidSignature', 2],
      ['unsupportedCurve', 3],
      ['noSessionContext', 4],
      ['invalidOid', 5],
      ['euiccChallengeMismatch', 6],
      ['ciPKUnknown', 7],
      ['undefinedError', 127],
    ]);
    expect(DownloadErrorCode.invalidTransactionId).toBe(5);
    expect(DownloadErrorCode.describe(127)).toBe('undefinedError');
  });
  it('ES10c results', () => {
    expect(EnableProfileResult.nameOf(4)).toBe('wrongProfileReenabling');
    expect(EnableProfileResult.nameOf(5)).toBe('catBusy');
    expect(DisableProfileResult.nameOf(2)).toBe('profileNotInEnabledState');
    expect(DisableProfileResult.nameOf(4)).toBeUndefined();
    expect(DeleteProfileResult.entries.map(([, v]) => v)).toEqual([0, 1, 2, 3, 127]);
    expect(EuiccMemoryResetResult.entries.map(([, v]) => v)).toEqual([0, 1, 5, 127]);
    expect(SetNicknameResult.iccidNotFound).toBe(1);
  });
  it('ProfileInstallationResult and CancelSession', () => {
    expect(BppCommandId.nameOf(3)).toBe('storeMetadata2');
    expect(ErrorReason.nameOf(9)).toBe('installFailedDueToIccidAlreadyExistsOnEuicc');
    expect(ErrorReason.nameOf(15)).toBe('pprNotAllowed');
    expect(ErrorReason.describe(127)).toBe('installFailedDueToUnknownError');
    expect(CancelSessionReason.loadBppExecutionError).toBe(5);
    expect(CancelSessionReason.describe(6)).toBe('unknown(6)');
    expect(GetBoundProfilePackageError.invalidTransactionId).toBe(95);
    expect(ProfileStates.typeName).toBe('ProfileState');
  });
});
