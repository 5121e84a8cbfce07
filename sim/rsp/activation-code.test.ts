import { describe, expect, it } from 'vitest';
import { ActivationCodeError, formatActivationCode, parseActivationCode, type ActivationCode } from './activation-code.ts';

// activationCodes vectors from /work/shared/vectors/rsp-crypto.json (pySim unit tests),
// copied here so this test does not depend on files outside the repository.
const vectors = [
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746',
  '1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746',
];

const MID = '04386-AGYFT-A74Y8-3F815';
const expected: ActivationCode[] = [
  { format: 1, smdpAddress: 'SMDP.GSMA.COM', matchingId: MID, confirmationCodeRequired: false },
  { format: 1, smdpAddress: 'SMDP.GSMA.COM', matchingId: MID, confirmationCodeRequired: true },
  { format: 1, smdpAddress: 'SMDP.GSMA.COM', matchingId: MID, smdpOid: '1.3.6.1.4.1.31746', confirmationCodeRequired: true },
  { format: 1, smdpAddress: 'SMDP.GSMA.COM', matchingId: MID, smdpOid: '1.3.6.1.4.1.31746', confirmationCodeRequired: false },
  { format: 1, smdpAddress: 'SMDP.GSMA.COM', smdpOid: '1.3.6.1.4.1.31746', confirmationCodeRequired: false },
];

function acError(f: () => unknown): ActivationCodeError {
  try {
    f();
  } catch (e) {
    if (e instanceof ActivationCodeError) return e;
    throw e;
  }
  throw new Error('no ActivationCodeError thrown');
}

describe('Activation Code (SGP.22 4.1)', () => {
  it.each(vectors.map((v, i) => [v, expected[i]!] as const))('parses and re-formats %s', (text, value) => {
    const ac = parseActivationCode(text);
    expect(ac).toEqual(value);
    expect(formatActivationCode(ac)).toBe(text);
    // with the QR-code prefix
    expect(parseActivationCode(`LPA:${text}`)).toEqual(value);
    expect(formatActivationCode(ac, { lpaPrefix: true })).toBe(`LPA:${text}`);
  });

  it('accepts an empty matching ID with nothing after it and an SM-DP+ port', () => {
    expect(parseActivationCode('1$smdp.example.com:8443$')).toEqual({ format: 1, smdpAddress: 'smdp.example.com:8443', confirmationCodeRequired: false });
    expect(formatActivationCode({ format: 1, smdpAddress: 'smdp.example.com:8443', confirmationCodeRequired: false })).toBe('1$smdp.example.com:8443$');
  });

  it.each([
    ['2$SMDP.GSMA.COM$X', 'format', 'wrongFormat'],
    ['lpa:1$SMDP.GSMA.COM$X', 'format', 'wrongFormat'],
    ['$SMDP.GSMA.COM$X', 'format', 'wrongFormat'],
    ['', 'activationCode', 'empty'],
    ['LPA:', 'activationCode', 'empty'],
    ['1', 'smdpAddress', 'missing'],
    ['1$$X', 'smdpAddress', 'empty'],
    ['1$SMDP..COM$X', 'smdpAddress', 'invalidAddress'],
    ['1$smdp.example.com:70000$X', 'smdpAddress', 'invalidAddress'],
    ['1$SMDP.GSMA.COM', 'matchingId', 'missing'],
    ['1$SMDP.GSMA.COM$X$1.3.6.1.4.1.31746$1$extra', 'activationCode', 'tooManyFields'],
    ['1$SMDP.GSMA.COM$AB$CD$1.3.6$1', 'activationCode', 'tooManyFields'],
    ['1$SMDP.GSMA.COM$X$1.3.6.x', 'smdpOid', 'invalidOid'],
    ['1$SMDP.GSMA.COM$X$1.03.6', 'smdpOid', 'invalidOid'],
    ['1$SMDP.GSMA.COM$X$1.40.6', 'smdpOid', 'invalidOid'],
    ['1$SMDP.GSMA.COM$X$1', 'smdpOid', 'invalidOid'],
    ['1$SMDP.GSMA.COM$X$', 'smdpOid', 'empty'],
    ['1$SMDP.GSMA.COM$X$1.3.6.1.4.1.31746$0', 'confirmationCodeRequired', 'invalidFlag'],
    ['1$SMDP.GSMA.COM$X$$', 'confirmationCodeRequired', 'invalidFlag'],
    ['1$SMDP.GSMA.COM$AB C', 'matchingId', 'nonPrintable'],
    ['1$SMDP.GSMA.COM$ABC\n', 'matchingId', 'nonPrintable'],
    ['1$SMDP.GSMA.COM\t$ABC', 'smdpAddress', 'nonPrintable'],
    ['1$SMDP.GSMA.COM$ABCé', 'matchingId', 'nonPrintable'],
  ] as const)('rejects %j: %s %s', (text, field, reason) => {
    const e = acError(() => parseActivationCode(text));
    expect(e.field).toBe(field);
    expect(e.reason).toBe(reason);
    expect(e.message.startsWith(`${field}: `)).toBe(true);
  });

  it('explains that "$" cannot be inside a field', () => {
    expect(acError(() => parseActivationCode('1$A.B$C$D$1$E')).message).toMatch(/cannot appear inside a field/);
  });

  it('refuses to format values that cannot be written', () => {
    const base: ActivationCode = { format: 1, smdpAddress: 'SMDP.GSMA.COM', confirmationCodeRequired: false };
    let e = acError(() => formatActivationCode({ ...base, matchingId: 'AB$CD' }));
    expect([e.field, e.reason]).toEqual(['matchingId', 'containsDelimiter']);
    e = acError(() => formatActivationCode({ ...base, smdpAddress: 'a$b' }));
    expect([e.field, e.reason]).toEqual(['smdpAddress', 'containsDelimiter']);
    e = acError(() => formatActivationCode({ ...base, smdpAddress: '' }));
    expect([e.field, e.reason]).toEqual(['smdpAddress', 'empty']);
    e = acError(() => formatActivationCode({ ...base, smdpOid: 'not-an-oid' }));
    expect([e.field, e.reason]).toEqual(['smdpOid', 'invalidOid']);
    e = acError(() => formatActivationCode({ ...base, matchingId: 'A B' }));
    expect([e.field, e.reason]).toEqual(['matchingId', 'nonPrintable']);
  });
});
