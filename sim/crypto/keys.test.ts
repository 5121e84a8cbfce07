import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as asn1js from 'asn1js';
import {
  parseKey,
  parsePrivateKey,
  parsePublicKey,
  parseSpki,
  encodeSpki,
  encodePkcs8,
  encodePrivateKeyPem,
  encodePublicKeyPem,
  generateKey,
  pemDecode,
  pemEncode,
  publicKeyFromPrivate,
} from './keys.ts';
import { CryptoError } from './errors.ts';
import { CURVES, type CurveName } from './curves.ts';
import { toHex } from '../bytes.ts';
import { parseCert } from '../../certs/cert.ts';

const SGP26 = fileURLToPath(new URL('../../certs/sgp26/', import.meta.url));
const dirs = readdirSync(SGP26);
const files = dirs.flatMap((d) => readdirSync(SGP26 + d).map((f) => `${d}/${f}`));
const keyFiles = files.filter((f) => /\/(SK|PK)_.*\.pem$/.test(f));
const certs = files.filter((f) => f.endsWith('.der')).map((f) => ({ file: f, cert: parseCert(readFileSync(SGP26 + f)) }));

function certFor(dir: string, publicKey: Uint8Array) {
  return certs.find((c) => c.file.startsWith(dir + '/') && toHex(c.cert.publicKey) === toHex(publicKey));
}

describe('SGP.26 key files', () => {
  it('finds all 19 private and 17 public key files (the CI has no PK file)', () => {
    expect(keyFiles.filter((f) => f.includes('/SK_'))).toHaveLength(19);
    expect(keyFiles.filter((f) => f.includes('/PK_'))).toHaveLength(17);
  });

  for (const f of keyFiles) {
    it(`${f}: parses, and its public key is the one of a certificate in the same folder`, () => {
      const text = readFileSync(SGP26 + f, 'utf8');
      const key = parseKey(text);
      const expectedCurve: CurveName = /BRP/.test(f) ? 'brainpoolP256r1' : 'P-256';
      expect(key.curve).toBe(expectedCurve);
      expect(key.publicKey).toHaveLength(65);
      expect(key.publicKey[0]).toBe(0x04);
      expect(key.privateKey !== undefined).toBe(f.includes('/SK_'));
      const dir = f.split('/')[0]!;
      const cert = certFor(dir, key.publicKey);
      expect(cert, 'matching certificate').toBeDefined();
      expect(cert!.cert.curve).toBe(key.curve);
      if (key.privateKey) {
        // SK file = SEC1 after an EC PARAMETERS block
        expect(pemDecode(text).map((b) => b.label)).toEqual(['EC PARAMETERS', 'EC PRIVATE KEY']);
        expect(toHex(publicKeyFromPrivate(key.curve, key.privateKey))).toBe(toHex(cert!.cert.publicKey));
        const pkFile = f.replace('/SK_', '/PK_');
        if (keyFiles.includes(pkFile)) expect(toHex(parsePublicKey(readFileSync(SGP26 + pkFile, 'utf8')).publicKey)).toBe(toHex(key.publicKey));
        else expect(f).toMatch(/SK_CI_/);
      }
    });
  }
});

describe('encoding', () => {
  for (const curve of ['P-256', 'brainpoolP256r1'] as const) {
    it(`PKCS#8 and SPKI PEM round-trip on ${curve}`, () => {
      const k = generateKey(curve);
      const priv = encodePrivateKeyPem(k);
      expect(priv.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      const back = parsePrivateKey(priv);
      expect(back.curve).toBe(curve);
      expect(toHex(back.privateKey)).toBe(toHex(k.privateKey));
      expect(toHex(back.publicKey)).toBe(toHex(k.publicKey));
      const pub = encodePublicKeyPem(k);
      expect(pub.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
      const pubBack = parseKey(pub);
      expect(pubBack.privateKey).toBeUndefined();
      expect(toHex(pubBack.publicKey)).toBe(toHex(k.publicKey));
    });

    it(`parses DER forms (PKCS#8, SPKI, SEC1 with parameters) on ${curve}`, () => {
      const k = generateKey(curve);
      expect(toHex(parsePrivateKey(encodePkcs8(k)).privateKey)).toBe(toHex(k.privateKey));
      expect(toHex(parseKey(encodeSpki(curve, k.publicKey)).publicKey)).toBe(toHex(k.publicKey));
      const sec1 = new asn1js.Sequence({
        value: [
          new asn1js.Integer({ value: 1 }),
          new asn1js.OctetString({ valueHex: k.privateKey }),
          new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.ObjectIdentifier({ value: curve === 'P-256' ? '1.2.840.10045.3.1.7' : '1.3.36.3.3.2.8.1.1.7' })] }),
        ],
      });
      const parsed = parsePrivateKey(new Uint8Array(sec1.toBER(false)));
      expect(parsed.curve).toBe(curve);
      expect(toHex(parsed.publicKey)).toBe(toHex(k.publicKey));
    });
  }

  it('encodes the SGP.26 CI key to the same SPKI as its PK file would give', () => {
    const sk = parsePrivateKey(readFileSync(SGP26 + 'EUM/SK_EUM_ECDSA_NIST.pem', 'utf8'));
    const pkPem = readFileSync(SGP26 + 'EUM/PK_EUM_ECDSA_NIST.pem', 'utf8');
    expect(toHex(encodeSpki(sk.curve, sk.publicKey))).toBe(toHex(pemDecode(pkPem)[0]!.der));
  });

  it('accepts a compressed point in SPKI and returns it uncompressed', () => {
    const k = generateKey('brainpoolP256r1');
    const compressed = CURVES.brainpoolP256r1.getPublicKey(k.privateKey, true);
    const spki = encodeSpki('brainpoolP256r1', compressed);
    expect(toHex(parseSpki(spki).publicKey)).toBe(toHex(k.publicKey));
  });

  it('wraps PEM at 64 columns', () => {
    const pem = pemEncode('TEST', new Uint8Array(100));
    const lines = pem.trim().split('\n');
    expect(lines[0]).toBe('-----BEGIN TEST-----');
    expect(lines[1]).toHaveLength(64);
    expect(lines.at(-1)).toBe('-----END TEST-----');
  });
});

describe('errors', () => {
  it('rejects a SEC1 key with no curve anywhere', () => {
    const k = generateKey('P-256');
    const sec1 = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), new asn1js.OctetString({ valueHex: k.privateKey })] });
    const pem = pemEncode('EC PRIVATE KEY', new Uint8Array(sec1.toBER(false)));
    expect(() => parseKey(pem)).toThrow(/no curve/);
    // the same key after an EC PARAMETERS block is fine
    const params = pemEncode('EC PARAMETERS', new Uint8Array(new asn1js.ObjectIdentifier({ value: '1.2.840.10045.3.1.7' }).toBER(false)));
    expect(toHex(parsePrivateKey(params + pem).publicKey)).toBe(toHex(k.publicKey));
  });

  it('rejects curves SGP.22 does not use (secp384r1)', () => {
    const spki = new asn1js.Sequence({
      value: [
        new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.10045.2.1' }), new asn1js.ObjectIdentifier({ value: '1.3.132.0.34' })] }),
        new asn1js.BitString({ valueHex: new Uint8Array(97) }),
      ],
    });
    expect(() => parseKey(new Uint8Array(spki.toBER(false)))).toThrow(/unsupported curve 1\.3\.132\.0\.34/);
  });

  it('rejects a point that is not on the curve', () => {
    const bad = new Uint8Array(65);
    bad[0] = 4;
    bad[64] = 1;
    expect(() => encodeSpki('P-256', bad)).toThrow(CryptoError);
  });

  it('rejects a private key whose embedded public key belongs to another key, without printing key material', () => {
    const k = generateKey('P-256');
    const other = generateKey('P-256');
    const sec1 = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 1 }),
        new asn1js.OctetString({ valueHex: k.privateKey }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.ObjectIdentifier({ value: '1.2.840.10045.3.1.7' })] }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.BitString({ valueHex: other.publicKey })] }),
      ],
    });
    let message = '';
    try {
      parseKey(new Uint8Array(sec1.toBER(false)));
    } catch (err) {
      expect(err).toBeInstanceOf(CryptoError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/does not match/);
    expect(message.toLowerCase()).not.toContain(toHex(k.privateKey).slice(0, 16));
  });

  it('rejects a zero private key and public-only input to parsePrivateKey', () => {
    const sec1 = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 1 }),
        new asn1js.OctetString({ valueHex: new Uint8Array(32) }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.ObjectIdentifier({ value: '1.2.840.10045.3.1.7' })] }),
      ],
    });
    expect(() => parseKey(new Uint8Array(sec1.toBER(false)))).toThrow(/not a valid P-256 scalar/);
    const pub = encodePublicKeyPem(generateKey('P-256'));
    expect(() => parsePrivateKey(pub)).toThrow(/only a public key/);
  });

  it('rejects garbage, trailing bytes and PEM without a key', () => {
    expect(() => parseKey(new Uint8Array([1, 2, 3]))).toThrow(CryptoError);
    const spki = encodeSpki('P-256', generateKey('P-256').publicKey);
    expect(() => parseKey(new Uint8Array([...spki, 0]))).toThrow(/trailing/);
    expect(() => parseKey(pemEncode('CERTIFICATE', spki))).toThrow(/no EC key in PEM \(blocks: CERTIFICATE\)/);
  });
});
