// SAIP file-system content (eUICC Profile Package v2.x section 8.3, PEDefinitions
// `File` and `Fcp`): every file-system PE (mf, usim, telecom, ...) lists its files
// as `File ::= SEQUENCE OF CHOICE { doNotCreate [0], fileDescriptor [1] Fcp,
// fillFileOffset [2], fillFileContent [3] }`. A file's content is the fill items
// in order: fillFileOffset skips n bytes (left as FF here, as pySim does),
// fillFileContent writes bytes at the current position. FCP coding: ETSI TS 102 222.
import {
  choice,
  integer,
  implicit,
  mapped,
  nullValue,
  octets,
  opt,
  seq,
  seqOf,
  tagValue,
  withDefault,
  type Codec,
  type Infer,
  type Tlv,
} from '../rsp/der.ts';
import { SaipError, PE_STATUS } from './errors.ts';

const priv = (num: number) => ({ cls: 'private', num }) as const;

function uint(max: number, name: string): Codec<number> {
  const check = (n: number) => {
    if (n < 0 || n > max) throw new RangeError(`${name} ${n} outside 0..${max}`);
    return n;
  };
  return mapped(integer(name), check, check, name);
}

export const UInt8 = uint(255, 'UInt8');
export const UInt15 = uint(32767, 'UInt15');
export const UInt16 = uint(65535, 'UInt16');

/** PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 } (first component of every PE but the header). */
export const PEHeader = seq('PEHeader', {
  mandated: opt(implicit(0, nullValue())),
  identification: implicit(1, UInt15),
});

export const ProprietaryInfo = seq('ProprietaryInfo', {
  specialFileInformation: withDefault(implicit(priv(0), octets({ min: 1, max: 1 })), Uint8Array.of(0x00)),
  fillPattern: opt(implicit(priv(1), octets({ min: 1, max: 200 }))),
  repeatPattern: opt(implicit(priv(2), octets({ min: 1, max: 200 }))),
  maximumFileSize: opt(implicit(6, octets())),
  fileDetails: withDefault(implicit(4, octets({ min: 1, max: 1 })), Uint8Array.of(0x01)),
});

/** File Control Parameters as SAIP codes them (a subset of ETSI TS 102 222 FCP). */
export const Fcp = seq('Fcp', {
  fileDescriptor: opt(implicit(2, octets({ min: 2, max: 4 }))),
  fileID: opt(implicit(3, octets({ min: 2, max: 2 }))),
  dfName: opt(implicit(4, octets({ min: 5, max: 16 }))),
  lcsi: withDefault(implicit(10, octets({ min: 1, max: 1 })), Uint8Array.of(0x05)),
  securityAttributesReferenced: opt(implicit(11, octets({ min: 1, max: 3 }))),
  efFileSize: opt(implicit(0, octets())),
  pinStatusTemplateDO: opt(implicit(priv(6), octets())),
  shortEFID: opt(implicit(8, octets({ min: 0, max: 1 }))),
  proprietaryEFInfo: opt(implicit(5, ProprietaryInfo)),
  linkPath: opt(implicit(priv(7), octets({ min: 0, max: 8 }))),
});
export type Fcp = Infer<typeof Fcp>;

export const FileItem = choice('FileItem', {
  doNotCreate: implicit(0, nullValue()),
  fileDescriptor: implicit(1, Fcp),
  fillFileOffset: implicit(2, UInt16),
  fillFileContent: implicit(3, octets()),
});
export type FileItem = Infer<typeof FileItem>;

/** File ::= SEQUENCE OF CHOICE {...}; as a PE component it is implicitly tagged: use fileComponent(n). */
export const File = seqOf(FileItem, 'File');

/** The codec of the File component at position n of a PE SEQUENCE (tag [n], e.g. ef-iccid [4] = A4). */
export function fileComponent(n: number): Codec<FileItem[]> {
  return implicit({ cls: 'context', num: n }, File, `File[${n}]`);
}

/** Identifier of the [n] constructed component of a PE (A0 + n, BF1F.. above 30). */
export function componentTag(n: number): number {
  return tagValue({ cls: 'context', num: n }, true);
}

/** The Fcp of a File, if it has one. */
export function fileFcp(items: readonly FileItem[]): Fcp | undefined {
  for (const it of items) if ('fileDescriptor' in it) return it.fileDescriptor;
  return undefined;
}

/**
 * The content a File's fill items write, from offset 0 (fillFileOffset gaps as FF).
 * undefined for doNotCreate or when the PE writes no content (template default).
 */
export function fileContent(items: readonly FileItem[]): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let written = false;
  for (const it of items) {
    if ('doNotCreate' in it) return undefined;
    if ('fillFileOffset' in it) parts.push(new Uint8Array(it.fillFileOffset).fill(0xff));
    else if ('fillFileContent' in it) {
      parts.push(it.fillFileContent);
      written = true;
    }
  }
  if (!written) return undefined;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * The fillFileContent TLV that writes the file from offset 0 (the first fill item,
 * which must be a fillFileContent), for in-place replacement. `fileTlv` is the
 * File component TLV (e.g. the A4 ef-iccid of PE-MF).
 */
export function firstContentTlv(fileTlv: Tlv, what: string, peOffset = 0): Tlv {
  const fill = fileTlv.children.find((c) => c.tag === 0x82 || c.tag === 0x83 || c.tag === 0x80);
  if (!fill || fill.tag === 0x80)
    throw new SaipError('missingFile', `${what} has no fillFileContent`, { peStatus: PE_STATUS.badValues, offset: peOffset + fileTlv.offset });
  if (fill.tag !== 0x83)
    throw new SaipError('unsupportedLayout', `${what} starts with a fillFileOffset; only content written from offset 0 is supported`, {
      offset: peOffset + fill.offset,
    });
  return fill;
}
