// Test-side SM-DP+ for the eUICC's tests (SGP.22 3.1.3 mutual authentication, 5.6.1-
// 5.6.2 ES9+ computations, 2.5.4 BPP, 5.5 ES8+): signs AuthenticateServer/PrepareDownload
// requests with the SGP.26 DPauth/DPpb keys, checks the eUICC's answers, and binds a
// package as an SM-DP+ does (ECKA + KDF, ISCR smdpSign, ConfigureISDP, StoreMetadata
// MAC-only, ReplaceSessionKeys, 1020-byte '86' segments). Every part stays accessible
// for tampering. Not the product SM-DP+ (sim/smdp).
import { randomBytes } from 'node:crypto';
import { concat, decode, derOf, encode, parseTlv } from '../../rsp/der.ts';
import { CtxParams1, EuiccSigned2, ServerSigned1, SmdpSigned2, EuiccSigned1, type NotificationEvent, type OperatorId } from '../../rsp/common.ts';
import { AuthenticateServerResponse, PrepareDownloadResponse, type AuthenticateResponseOk } from '../../rsp/es10b.ts';
import { ConfigureISDPRequest, InitialiseSecureChannelRequest, ReplaceSessionKeysRequest, StoreMetadataRequest, iscrSignatureInput } from '../../rsp/es8p.ts';
import { iccidToBytes } from '../../rsp/iccid.ts';
import { sign as ecdsaSign, verify as ecdsaVerify } from '../../crypto/ecdsa.ts';
import { ecka, generateKeyPair } from '../../crypto/ecka.ts';
import { deriveSessionKeys, type SessionKeys } from '../../crypto/kdf.ts';
import { protectSegments, type BspSegment } from '../../crypto/bsp.ts';
import type { CurveName } from '../../crypto/curves.ts';
import type { CurveKeyPair } from '../../crypto/keys.ts';
import { loadCert, loadKeyPair, sgp26TrustedCis } from '../../../certs/store.ts';
import { verifyChain } from '../../../certs/chain.ts';
import { parseCert } from '../../../certs/cert.ts';
import { equalBytes, hexToBytes } from '../../bytes.ts';

export const TEST_SMDP_ADDRESS = 'testsmdpplus1.example.com';
export const TEST_SMDP_OID = '2.999.10';

export class BinderError extends Error {
  override readonly name = 'BinderError';
}

export interface Signer {
  readonly certificate: Uint8Array;
  readonly key: CurveKeyPair;
}

export interface TestSmdpOptions {
  readonly curve?: CurveName;
  readonly address?: string;
  /** CERT.DPauth + key (default SGP.26 DPauth of the curve) */
  readonly dpauth?: Signer;
  /** CERT.DPpb + key (default SGP.26 DPpb of the curve) */
  readonly dppb?: Signer;
}

export interface AuthenticateOptions {
  readonly transactionId?: Uint8Array;
  readonly serverAddress?: string;
  /** euiccChallenge to put in serverSigned1 (default: the one given) */
  readonly euiccChallenge?: Uint8Array;
  /** euiccCiPKIdToBeUsed (default the CI of this SM-DP+'s curve) */
  readonly ciPkId?: Uint8Array;
  readonly serverCertificate?: Uint8Array;
  /** flip a bit of serverSignature1 */
  readonly corruptSignature?: boolean;
  readonly matchingId?: string;
}

export interface AuthenticateRequest {
  readonly der: Uint8Array;
  readonly transactionId: Uint8Array;
  readonly serverChallenge: Uint8Array;
  readonly serverAddress: string;
  /** the ctxParams1 DER sent (the eUICC must echo it in euiccSigned1) */
  readonly ctxParams1: Uint8Array;
}

export interface AuthenticatedEuicc {
  readonly transactionId: Uint8Array;
  readonly euiccSigned1: Uint8Array;
  readonly euiccSignature1: Uint8Array;
  readonly euiccCertificate: Uint8Array;
  readonly eumCertificate: Uint8Array;
  readonly eid: string;
  readonly euiccCurve: CurveName;
  readonly euiccPublicKey: Uint8Array;
}

export interface PrepareOptions {
  readonly transactionId?: Uint8Array;
  readonly ccRequired?: boolean;
  readonly hashCc?: Uint8Array;
  readonly bppEuiccOtpk?: Uint8Array;
  readonly smdpCertificate?: Uint8Array;
  readonly corruptSignature?: boolean;
}

export interface PreparedEuicc {
  readonly transactionId: Uint8Array;
  readonly euiccOtpk: Uint8Array;
  readonly hashCc?: Uint8Array;
}

export interface MetadataSpec {
  readonly iccid: string;
  readonly serviceProviderName?: string;
  readonly profileName?: string;
  /** 0 test, 1 provisioning, 2 operational (default) */
  readonly profileClass?: number;
  readonly notificationConfigurationInfo?: readonly { readonly events: NotificationEvent; readonly address: string }[];
  readonly profileOwner?: OperatorId;
  readonly profilePolicyRules?: ('pprUpdateControl' | 'ppr1' | 'ppr2')[];
  readonly iconType?: number;
  readonly icon?: Uint8Array;
}

export interface BindOptions {
  readonly metadata: MetadataSpec;
  /** add ReplaceSessionKeys with random PPKs (default true) */
  readonly replaceSessionKeys?: boolean;
  /** plaintext bytes per 86 segment (default 1020) */
  readonly segmentSize?: number;
  readonly dpOid?: string;
  /** ISCR tampering */
  readonly iscr?: { readonly transactionId?: Uint8Array; readonly remoteOpId?: number; readonly keyType?: number; readonly keyLen?: number; readonly corruptSign?: boolean };
  readonly hostId?: Uint8Array;
}

/** The protected parts of a BPP; assembleBpp() joins them. */
export interface BppParts {
  iscr: Uint8Array;
  /** 87 TLVs of A0 */
  configureIsdp: Uint8Array[];
  /** 88 TLVs of A1 */
  storeMetadata: Uint8Array[];
  /** 87 TLVs of A2 (empty: no A2) */
  replaceSessionKeys: Uint8Array[];
  /** 86 TLVs of A3 */
  profileElements: Uint8Array[];
}

export interface BoundPackage {
  readonly bpp: Uint8Array;
  readonly parts: BppParts;
  readonly sessionKeys: SessionKeys;
  readonly metadataDer: Uint8Array;
}

/** tag (1-3 identifier bytes, as a number) || DER length || value */
export function encodeRaw(tag: number, value: Uint8Array): Uint8Array {
  const t = tag > 0xffff ? [tag >> 16, (tag >> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  const n = value.length;
  const l = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat([Uint8Array.from(t), Uint8Array.from(l), value]);
}

/** BF36 { ISCR, A0, A1, A2?, A3 } */
export function assembleBpp(p: BppParts): Uint8Array {
  const body = [p.iscr, encodeRaw(0xa0, concat(p.configureIsdp)), encodeRaw(0xa1, concat(p.storeMetadata))];
  if (p.replaceSessionKeys.length) body.push(encodeRaw(0xa2, concat(p.replaceSessionKeys)));
  body.push(encodeRaw(0xa3, concat(p.profileElements)));
  return encodeRaw(0xbf36, concat(body));
}

function split(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.slice(i, i + size));
  return out.length ? out : [new Uint8Array(0)];
}

const tagOf = (name: 'DPauth' | 'DPpb', curve: CurveName) => `${name}_${curve === 'P-256' ? 'NIST' : 'BRP'}`;

/** A copy with the last byte's lowest bit flipped (signatures, MACs). */
export function flipLastBit(b: Uint8Array): Uint8Array {
  const out = b.slice();
  out[out.length - 1]! ^= 0x01;
  return out;
}

export class TestSmdp {
  readonly curve: CurveName;
  readonly address: string;
  readonly dpauth: Signer;
  readonly dppb: Signer;
  /** subject key id of the CI of this SM-DP+'s certificates */
  readonly ciPkId: Uint8Array;

  constructor(opts: TestSmdpOptions = {}) {
    this.curve = opts.curve ?? 'P-256';
    this.address = opts.address ?? TEST_SMDP_ADDRESS;
    this.dpauth = opts.dpauth ?? { certificate: loadCert(tagOf('DPauth', this.curve)).der, key: loadKeyPair(tagOf('DPauth', this.curve)) };
    this.dppb = opts.dppb ?? { certificate: loadCert(tagOf('DPpb', this.curve)).der, key: loadKeyPair(tagOf('DPpb', this.curve)) };
    this.ciPkId = hexToBytes(parseCert(this.dpauth.certificate).authorityKeyId!);
  }

  private sign(signer: Signer, data: Uint8Array): Uint8Array {
    return ecdsaSign(signer.key.curve, signer.key.privateKey, data);
  }

  /** ES9+.InitiateAuthentication's output as an ES10b.AuthenticateServer request (BF38). */
  authenticateServerRequest(euiccChallenge: Uint8Array, o: AuthenticateOptions = {}): AuthenticateRequest {
    const transactionId = o.transactionId ?? new Uint8Array(randomBytes(16));
    const serverChallenge = new Uint8Array(randomBytes(16));
    const serverAddress = o.serverAddress ?? this.address;
    const ss1 = encode(ServerSigned1, { transactionId, euiccChallenge: o.euiccChallenge ?? euiccChallenge, serverAddress, serverChallenge });
    let sig = this.sign(this.dpauth, ss1);
    if (o.corruptSignature) sig = flipLastBit(sig);
    const ctxParams1 = encode(CtxParams1, {
      ctxParamsForCommonAuthentication: {
        ...(o.matchingId !== undefined ? { matchingId: o.matchingId } : {}),
        deviceInfo: { tac: hexToBytes('35290611'), deviceCapabilities: { gsmSupportedRelease: Uint8Array.of(13, 0, 0), eutranEpcSupportedRelease: Uint8Array.of(13, 0, 0) } },
      },
    });
    const der = encodeRaw(0xbf38, concat([ss1, encodeRaw(0x5f37, sig), encodeRaw(0x04, o.ciPkId ?? this.ciPkId), o.serverCertificate ?? this.dpauth.certificate, ctxParams1]));
    return { der, transactionId, serverChallenge, serverAddress, ctxParams1 };
  }

  /** What ES9+.AuthenticateClient checks: the eUICC chain, euiccSignature1, the echoed fields. */
  verifyAuthenticateResponse(req: AuthenticateRequest, responseDer: Uint8Array): AuthenticatedEuicc {
    const resp = decode(AuthenticateServerResponse, responseDer);
    if (!('authenticateResponseOk' in resp)) throw new BinderError(`AuthenticateServer failed with ${resp.authenticateResponseError.authenticateErrorCode}`);
    const ok: AuthenticateResponseOk = resp.authenticateResponseOk;
    const chain = verifyChain(ok.euiccCertificate, [ok.eumCertificate], { trustedCis: sgp26TrustedCis(), at: new Date(), expectedRole: 'euicc' });
    if (!chain.ok) throw new BinderError(`eUICC chain: ${chain.reason} ${chain.detail}`);
    const leaf = chain.chain[0]!;
    const signed = derOf(EuiccSigned1, ok.euiccSigned1);
    if (!ecdsaVerify(leaf.curve, leaf.publicKey, signed, ok.euiccSignature1)) throw new BinderError('euiccSignature1 does not verify');
    if (!equalBytes(ok.euiccSigned1.transactionId, req.transactionId)) throw new BinderError('transactionId not echoed');
    if (!equalBytes(ok.euiccSigned1.serverChallenge, req.serverChallenge)) throw new BinderError('serverChallenge not echoed');
    if (ok.euiccSigned1.serverAddress !== req.serverAddress) throw new BinderError('serverAddress not echoed');
    if (!equalBytes(derOf(CtxParams1, ok.euiccSigned1.ctxParams1), req.ctxParams1)) throw new BinderError('ctxParams1 not echoed as sent');
    return {
      transactionId: req.transactionId,
      euiccSigned1: signed,
      euiccSignature1: ok.euiccSignature1,
      euiccCertificate: ok.euiccCertificate,
      eumCertificate: ok.eumCertificate,
      eid: leaf.eid!,
      euiccCurve: leaf.curve,
      euiccPublicKey: leaf.publicKey,
    };
  }

  /** ES9+.AuthenticateClient's output as an ES10b.PrepareDownload request (BF21). */
  prepareDownloadRequest(auth: AuthenticatedEuicc, o: PrepareOptions = {}): Uint8Array {
    const transactionId = o.transactionId ?? auth.transactionId;
    const smdpSigned2 = encode(SmdpSigned2, { transactionId, ccRequiredFlag: o.ccRequired ?? false, ...(o.bppEuiccOtpk ? { bppEuiccOtpk: o.bppEuiccOtpk } : {}) });
    let sig = this.sign(this.dppb, concat([smdpSigned2, encodeRaw(0x5f37, auth.euiccSignature1)]));
    if (o.corruptSignature) sig = flipLastBit(sig);
    return encodeRaw(0xbf21, concat([smdpSigned2, encodeRaw(0x5f37, sig), ...(o.hashCc ? [encodeRaw(0x04, o.hashCc)] : []), o.smdpCertificate ?? this.dppb.certificate]));
  }

  /** What ES9+.GetBoundProfilePackage checks: euiccSignature2 over euiccSigned2 || smdpSignature2. */
  verifyPrepareDownloadResponse(auth: AuthenticatedEuicc, requestDer: Uint8Array, responseDer: Uint8Array): PreparedEuicc {
    const resp = decode(PrepareDownloadResponse, responseDer);
    if (!('downloadResponseOk' in resp)) throw new BinderError(`PrepareDownload failed with ${resp.downloadResponseError.downloadErrorCode}`);
    const ok = resp.downloadResponseOk;
    const smdpSignature2 = parseTlv(requestDer).children.find((c) => c.tag === 0x5f37)!.raw;
    if (!ecdsaVerify(auth.euiccCurve, auth.euiccPublicKey, concat([derOf(EuiccSigned2, ok.euiccSigned2), smdpSignature2]), ok.euiccSignature2))
      throw new BinderError('euiccSignature2 does not verify');
    return { transactionId: ok.euiccSigned2.transactionId, euiccOtpk: ok.euiccSigned2.euiccOtpk, ...(ok.euiccSigned2.hashCc ? { hashCc: ok.euiccSigned2.hashCc } : {}) };
  }

  /** The StoreMetadata request DER for a spec. */
  metadataDer(m: MetadataSpec): Uint8Array {
    return encode(StoreMetadataRequest, {
      iccid: iccidToBytes(m.iccid),
      serviceProviderName: m.serviceProviderName ?? 'GSMA Test',
      profileName: m.profileName ?? 'TS.48 Generic Test Profile',
      ...(m.iconType !== undefined ? { iconType: m.iconType } : {}),
      ...(m.icon !== undefined ? { icon: m.icon } : {}),
      profileClass: m.profileClass ?? 2,
      ...(m.notificationConfigurationInfo ? { notificationConfigurationInfo: m.notificationConfigurationInfo.map((c) => ({ profileManagementOperation: [...c.events], notificationAddress: c.address })) } : {}),
      ...(m.profileOwner ? { profileOwner: m.profileOwner } : {}),
      ...(m.profilePolicyRules ? { profilePolicyRules: m.profilePolicyRules } : {}),
    });
  }

  /** Bind a profile package for the eUICC that answered PrepareDownload. */
  bind(auth: AuthenticatedEuicc, prepared: PreparedEuicc, upp: Uint8Array, o: BindOptions): BoundPackage {
    const otDp = generateKeyPair(this.curve);
    const hostId = o.hostId ?? new TextEncoder().encode('BRIDGELAB-SMDP+');
    const t = o.iscr ?? {};
    const iscrBody = [
      encodeRaw(0x82, Uint8Array.of(t.remoteOpId ?? 1)),
      encodeRaw(0x80, t.transactionId ?? prepared.transactionId),
      encodeRaw(0xa6, concat([encodeRaw(0x80, Uint8Array.of(t.keyType ?? 0x88)), encodeRaw(0x81, Uint8Array.of(t.keyLen ?? 0x10)), encodeRaw(0x84, hostId)])),
      encodeRaw(0x5f49, otDp.publicKey),
    ];
    const unsigned = encodeRaw(0xbf23, concat(iscrBody));
    let smdpSign = this.sign(this.dppb, iscrSignatureInput(unsigned, prepared.euiccOtpk));
    if (t.corruptSign) smdpSign = flipLastBit(smdpSign);
    const iscr = encodeRaw(0xbf23, concat([...iscrBody, encodeRaw(0x5f37, smdpSign)]));
    decode(InitialiseSecureChannelRequest, iscr); // self-check of the encoding
    const sessionKeys = deriveSessionKeys({ sharedSecret: ecka(this.curve, otDp.privateKey, prepared.euiccOtpk), hostId, eid: hexToBytes(auth.eid) });

    const metadataDer = this.metadataDer(o.metadata);
    const withPpk = o.replaceSessionKeys ?? true;
    const segments: BspSegment[] = [{ tag: 0x87, plaintext: encode(ConfigureISDPRequest, { dpProprietaryData: { dpOid: o.dpOid ?? TEST_SMDP_OID } }) }];
    const metaParts = split(metadataDer, 1020);
    for (const p of metaParts) segments.push({ tag: 0x88, plaintext: p, mode: 'macOnly' });
    if (withPpk) {
      const rand = () => new Uint8Array(randomBytes(16));
      segments.push({ tag: 0x87, plaintext: encode(ReplaceSessionKeysRequest, { initialMacChainingValue: rand(), ppkEnc: rand(), ppkCmac: rand() }) });
    }
    const uppParts = split(upp, o.segmentSize ?? 1020);
    for (const p of uppParts) segments.push({ tag: 0x86, plaintext: p });
    const out = protectSegments(sessionKeys, segments);
    let i = 0;
    const take = (n: number) => out.slice(i, (i += n));
    const parts: BppParts = {
      iscr,
      configureIsdp: take(1),
      storeMetadata: take(metaParts.length),
      replaceSessionKeys: withPpk ? take(1) : [],
      profileElements: take(uppParts.length),
    };
    return { bpp: assembleBpp(parts), parts, sessionKeys, metadataDer };
  }
}
