// Reading a SAIP package (eUICC Profile Package v2.x, GSMA TS.48) by a targeted walk of the PEs:
//   ICCID    header A0 -> iccid [3] 83; mf [16] B0 -> ef-iccid [4] A4 -> fillFileContent 83 (ITU-T E.118)
//   IMSI     usim [19] B3 -> ef-imsi [3] A3 -> fillFileContent 83 (3GPP TS 31.102 4.2.2)
//   USIM AID usim B3 -> adf-usim [2] A2 -> fileDescriptor A1 -> dfName 84
//   AKA      akaParameter [4] A4 -> algoConfiguration [1] A1 -> algoParameter [1] A1 -> 80 id, 82 K, 83 OPc
// Each File is decoded with the DER engine (file.ts); no full codec of every PE.
import { toHex } from '../bytes.ts';
import { choice, explicit, implicit, integer, octets, seq, type Infer } from '../rsp/der.ts';
import { iccidFromBytes, ICCID_BYTES, IccidError } from '../rsp/iccid.ts';
import { decodeEfImsi } from './ef-imsi.ts';
import { PE_STATUS, SaipError } from './errors.ts';
import { componentTag, fileComponent, fileContent, fileFcp, PEHeader, type FileItem } from './file.ts';
import { headerIccidToDigits, ProfileHeaderElement, saipVersion, type ProfileHeader } from './header.ts';
import { splitProfileElements, type ProfileElementName, type ProfileElementTlv } from './package.ts';

/** PE-MF component positions (PEDefinitions): mf-header 0, templateID 1, mf 2, ef-pl 3, ef-iccid 4, ... */
export const MF_EF_ICCID = 4;
/** PE-USIM component positions: usim-header 0, templateID 1, adf-usim 2, ef-imsi 3, ... */
export const USIM_ADF_USIM = 2;
export const USIM_EF_IMSI = 3;

const MappingParameter = seq('MappingParameter', {
  mappingOptions: implicit(0, octets({ min: 1, max: 1 })),
  mappingSource: implicit(1, octets({ min: 5, max: 16 })),
});

// Only the leading components are declared: the later ones (rotation/xoring
// constants, authCounterMax, numberOfKeccak; sqnOptions .. sqnInit of the PE) are
// skipped by the engine like extension components.
const AlgoParameterHead = seq('AlgoParameter', {
  algorithmID: implicit(0, integer()),
  algorithmOptions: implicit(1, octets({ min: 1, max: 1 })),
  key: implicit(2, octets()),
  opc: implicit(3, octets()),
});

const AkaParameterHead = implicit(
  4,
  seq('PE-AKAParameter', {
    akaHeader: implicit(0, PEHeader),
    algoConfiguration: explicit(1, choice('algoConfiguration', { mappingParameter: implicit(0, MappingParameter), algoParameter: implicit(1, AlgoParameterHead) })),
  }),
  'PE-AKAParameter',
);
type AkaParameterHead = Infer<typeof AkaParameterHead>;

export type AkaAlgorithm = 'milenage' | 'tuak' | 'usim-test-algorithm' | 'mapping';
const ALGORITHM_IDS: Record<number, AkaAlgorithm> = { 1: 'milenage', 2: 'tuak', 3: 'usim-test-algorithm' };

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * NAA authentication parameters of a PE-AKAParameter. `ki` and `opc` are
 * subscriber secrets: JSON.stringify and console.log/util.inspect print them
 * redacted. Never log `ki`/`opc` themselves.
 */
export class AkaParameters {
  constructor(
    readonly algorithm: AkaAlgorithm,
    /** K (16 or 32 bytes); absent for 'mapping' */
    readonly ki?: Uint8Array,
    /** OPc (Milenage) / TOPc (TUAK); absent for 'mapping' */
    readonly opc?: Uint8Array,
    /** algorithmOptions byte (SAIP 8.5) */
    readonly algorithmOptions?: number,
    /** for 'mapping': AID of the NAA whose parameters are shared (hex) */
    readonly mappingSource?: string,
  ) {}

  private redacted(): Record<string, unknown> {
    const r: Record<string, unknown> = { algorithm: this.algorithm };
    if (this.ki) r.ki = `<redacted ${this.ki.byteLength} bytes>`;
    if (this.opc) r.opc = `<redacted ${this.opc.byteLength} bytes>`;
    if (this.algorithmOptions !== undefined) r.algorithmOptions = this.algorithmOptions;
    if (this.mappingSource !== undefined) r.mappingSource = this.mappingSource;
    return r;
  }

  toJSON(): Record<string, unknown> {
    return this.redacted();
  }

  [inspectSymbol](): string {
    return `AkaParameters ${JSON.stringify(this.redacted())}`;
  }
}

export interface ProfileSummary {
  /** ICCID digits from the ProfileHeader */
  iccid: string;
  /** ICCID digits from MF/EF.ICCID, when the MF PE writes it (should equal `iccid`) */
  efIccid?: string;
  profileType?: string;
  /** 'major.minor' of the ProfileHeader, e.g. '2.3' */
  saipVersion: string;
  /** IMSI digits from the first USIM's EF.IMSI */
  imsi?: string;
  /** dfName of ADF.USIM, lowercase hex */
  usimAid?: string;
  hasUsim: boolean;
  /** the PE-AKAParameter that applies to the USIM (the first one after the USIM PE) */
  akaParameters?: AkaParameters;
  elementCount: number;
  /** package size in bytes */
  size: number;
  header: ProfileHeader;
}

/** Decode the File component [n] of a PE; undefined when the PE does not have it. */
export function peFile(pe: ProfileElementTlv, n: number, label: string): { items: FileItem[]; tlv: ProfileElementTlv['tlv'] } | undefined {
  const tlv = pe.tlv.children.find((c) => c.tag === componentTag(n));
  if (!tlv) return undefined;
  return { items: fileComponent(n).decodeTlv(tlv, { der: true, path: `${pe.name}.${label}` }), tlv };
}

function akaFrom(pe: ProfileElementTlv): AkaParameters {
  const v: AkaParameterHead = AkaParameterHead.decodeTlv(pe.tlv, { der: true, path: '' });
  const conf = v.algoConfiguration;
  if ('mappingParameter' in conf) return new AkaParameters('mapping', undefined, undefined, undefined, toHex(conf.mappingParameter.mappingSource));
  const p = conf.algoParameter;
  const algorithm = ALGORITHM_IDS[p.algorithmID];
  if (!algorithm)
    throw new SaipError('invalidContent', `PE-AKAParameter algorithmID ${p.algorithmID} is not milenage(1), tuak(2) or usim-test-algorithm(3)`, {
      peStatus: PE_STATUS.badValues,
      offset: pe.offset,
    });
  return new AkaParameters(algorithm, p.key, p.opc, p.algorithmOptions[0]);
}

function first(elements: readonly ProfileElementTlv[], name: ProfileElementName): ProfileElementTlv | undefined {
  return elements.find((e) => e.name === name);
}

/** The ProfileHeader PE, which SAIP requires to be the first PE. */
export function headerElement(elements: readonly ProfileElementTlv[]): { pe: ProfileElementTlv; header: ProfileHeader } {
  const pe = elements[0];
  if (!pe || pe.name !== 'header')
    throw new SaipError('missingElement', 'the first ProfileElement must be the ProfileHeader (A0)', {
      peStatus: PE_STATUS.invalidRequestFormat,
      offset: 0,
    });
  return { pe, header: ProfileHeaderElement.decodeTlv(pe.tlv, { der: true, path: 'header' }) };
}

function efIccidOf(mf: ProfileElementTlv): string | undefined {
  const f = peFile(mf, MF_EF_ICCID, 'ef-iccid');
  const content = f && fileContent(f.items);
  if (!content) return undefined;
  try {
    return iccidFromBytes(content.subarray(0, ICCID_BYTES));
  } catch (e) {
    if (e instanceof IccidError)
      throw new SaipError('invalidContent', `MF/EF.ICCID: ${e.message}`, { peStatus: PE_STATUS.badValues, offset: f.tlv.offset, cause: e });
    throw e;
  }
}

/** Summarise a UPP. Malformed DER is DerError; a well-formed but unusable profile is SaipError. */
export function readProfile(upp: Uint8Array): ProfileSummary {
  const elements = splitProfileElements(upp);
  const { header } = headerElement(elements);
  const summary: ProfileSummary = {
    iccid: headerIccidToDigits(header.iccid),
    saipVersion: saipVersion(header),
    hasUsim: false,
    elementCount: elements.length,
    size: upp.byteLength,
    header,
  };
  if (header.profileType !== undefined) summary.profileType = header.profileType;

  const mf = first(elements, 'mf');
  if (mf) {
    const efIccid = efIccidOf(mf);
    if (efIccid !== undefined) summary.efIccid = efIccid;
  }

  const usimIndex = elements.findIndex((e) => e.name === 'usim');
  if (usimIndex >= 0) {
    const usim = elements[usimIndex]!;
    summary.hasUsim = true;
    const imsiFile = peFile(usim, USIM_EF_IMSI, 'ef-imsi');
    const imsiContent = imsiFile && fileContent(imsiFile.items);
    if (imsiContent) {
      const imsi = decodeEfImsi(imsiContent);
      if (imsi !== undefined) summary.imsi = imsi;
    }
    const adf = peFile(usim, USIM_ADF_USIM, 'adf-usim');
    const dfName = adf && fileFcp(adf.items)?.dfName;
    if (dfName) summary.usimAid = toHex(dfName);
  }

  const aka = elements.find((e, i) => e.name === 'akaParameter' && i > usimIndex) ?? first(elements, 'akaParameter');
  if (aka) summary.akaParameters = akaFrom(aka);
  return summary;
}
