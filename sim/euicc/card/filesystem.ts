// Minimal UICC file system (ETSI TS 102 221 8 file model, 11.1.1 SELECT with the FCP
// template of 11.1.1.3, 11.1.2 STATUS, 11.1.3 READ BINARY, 11.1.5 READ RECORD; 13.1
// EF.DIR, 13.2 EF.ICCID) and the USIM files a modem reads (ETSI TS 31.102 4.2.2
// EF.IMSI, 4.2.18 EF.AD). Content comes from the enabled profile through
// CardProfileView; without one, only MF / EF.ICCID (the eUICC's own) / EF.DIR exist.
// Every method is pure over a per-channel FsCursor and throws StatusWordError.
import { type CommandApdu, SW, StatusWordError, wrongLeSw } from '../../apdu/apdu.ts';
import { tlv } from '../../apdu/tlv.ts';
import { equalBytes } from '../../bytes.ts';

/** What the card needs to know of the enabled profile (provided by the ISD-R). */
export interface CardProfileView {
  /** EF.ICCID content (10 bytes, BCD with swapped nibbles, F padded) */
  readonly iccid: Uint8Array;
  /** EF.IMSI content (9 bytes: length, parity/type + digits) */
  readonly imsi?: Uint8Array;
  /** AID of ADF.USIM (e.g. A0000000871002FF33FF018900000100); absent: no ADF.USIM */
  readonly usimAid?: Uint8Array;
  /** EF.AD content (default 00 00 00 02: normal operation, 2-digit MNC) */
  readonly ad?: Uint8Array;
  /** further EFs of the profile (EF.SPN, EF.UST ...) */
  readonly extraFiles?: readonly ExtraEf[];
}

export interface ExtraEf {
  readonly parent: 'MF' | 'ADF.USIM';
  readonly fid: number;
  readonly sfi?: number;
  /** transparent EF content, or */
  readonly content?: Uint8Array;
  /** linear fixed EF records (all the same length) */
  readonly records?: readonly Uint8Array[];
}

export const FID = {
  MF: 0x3f00,
  EF_DIR: 0x2f00,
  EF_ICCID: 0x2fe2,
  EF_ARR_MF: 0x2f06,
  /** the current ADF (TS 102 221 8.3) */
  ADF_CURRENT: 0x7fff,
  EF_IMSI: 0x6f07,
  EF_AD: 0x6fad,
  EF_ARR_ADF: 0x6f06,
} as const;

export const INS_READ_BINARY = 0xb0;
export const INS_READ_RECORD = 0xb2;
export const INS_UPDATE_BINARY = 0xd6;
export const INS_UPDATE_RECORD = 0xdc;

/** How a short Le of 00 (Ne = 256) is read for fixed-length data (READ BINARY/RECORD, GET RESPONSE). */
export type ShortLeZero = 'maximum' | 'exact-256';

type DfId = 'MF' | 'ADF';

/** Selection state of one logical channel. */
export interface FsCursor {
  readonly df: DfId;
  /** current EF (in `df`), if any */
  readonly ef?: number;
  /** current record of a linear fixed current EF */
  readonly record?: number;
  /** ADF.USIM was activated on this channel (SELECT by AID or 7FFF) */
  readonly adfActive: boolean;
}

export const INITIAL_CURSOR: FsCursor = { df: 'MF', adfActive: false };

interface TransparentEf {
  readonly kind: 'transparent';
  readonly fid: number;
  readonly sfi?: number;
  readonly content: Uint8Array;
}
interface LinearFixedEf {
  readonly kind: 'linear-fixed';
  readonly fid: number;
  readonly sfi?: number;
  readonly records: readonly Uint8Array[];
  readonly recordLength: number;
}
type EfNode = TransparentEf | LinearFixedEf;

interface DfNode {
  readonly id: DfId;
  readonly fid: number;
  readonly aid?: Uint8Array;
  readonly efs: readonly EfNode[];
}

interface Tree {
  readonly mf: DfNode;
  readonly adf?: DfNode;
}

export interface FsResult {
  readonly cursor: FsCursor;
  readonly data: Uint8Array;
}

export interface FileSystemOptions {
  /** EF.ICCID when no profile is enabled */
  readonly euiccIccid: Uint8Array;
  readonly shortLeZero?: ShortLeZero;
}

const EF_DIR_RECORD_LENGTH = 0x20;
const USIM_LABEL = new TextEncoder().encode('USIM');

function efDirRecord(aid: Uint8Array | undefined): Uint8Array {
  const rec = new Uint8Array(EF_DIR_RECORD_LENGTH).fill(0xff);
  if (aid) {
    const body = tlv(0x61, tlv(0x4f, aid), tlv(0x50, USIM_LABEL));
    if (body.length > rec.length) throw new RangeError(`EF.DIR record of ${body.length} bytes`);
    rec.set(body, 0);
  }
  return rec;
}

function extraEf(e: ExtraEf): EfNode {
  if (e.records) {
    const len = e.records[0]?.length ?? 0;
    if (len === 0 || e.records.some((r) => r.length !== len)) throw new RangeError(`EF ${e.fid.toString(16)}: records must be non-empty and of one length`);
    return { kind: 'linear-fixed', fid: e.fid, ...(e.sfi !== undefined ? { sfi: e.sfi } : {}), records: e.records, recordLength: len };
  }
  return { kind: 'transparent', fid: e.fid, ...(e.sfi !== undefined ? { sfi: e.sfi } : {}), content: e.content ?? new Uint8Array(0) };
}

const u16 = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);
const LCSI_OPERATIONAL_ACTIVATED = Uint8Array.of(0x05);

/** FCP of an EF (TS 102 221 11.1.1.3.2 order: 82, 83, 8A, 8B, 80, 88). */
function efFcp(ef: EfNode, arrFid: number): Uint8Array {
  const descriptor = ef.kind === 'transparent' ? Uint8Array.of(0x41, 0x21) : Uint8Array.of(0x42, 0x21, 0x00, ef.recordLength, ef.records.length);
  const size = ef.kind === 'transparent' ? ef.content.length : ef.recordLength * ef.records.length;
  return tlv(
    0x62,
    tlv(0x82, descriptor),
    tlv(0x83, u16(ef.fid)),
    tlv(0x8a, LCSI_OPERATIONAL_ACTIVATED),
    tlv(0x8b, u16(arrFid), Uint8Array.of(0x01)),
    tlv(0x80, u16(size)),
    ef.sfi !== undefined ? tlv(0x88, Uint8Array.of(ef.sfi << 3)) : tlv(0x88),
  );
}

/**
 * FCP of the MF / ADF (TS 102 221 11.1.1.3.1 order: 82, 83, 84, A5, 8A, 8B, C6). The PIN
 * status template has PS_DO 00: PIN1 (and ADM) disabled, so a modem reports READY.
 */
function dfFcp(df: DfNode): Uint8Array {
  const pinStatus =
    df.id === 'MF'
      ? tlv(0xc6, tlv(0x90, Uint8Array.of(0x00)), tlv(0x83, Uint8Array.of(0x01)), tlv(0x83, Uint8Array.of(0x0a)))
      : tlv(0xc6, tlv(0x90, Uint8Array.of(0x00)), tlv(0x83, Uint8Array.of(0x01)), tlv(0x83, Uint8Array.of(0x81)));
  return tlv(
    0x62,
    tlv(0x82, Uint8Array.of(0x78, 0x21)),
    tlv(0x83, u16(df.fid)),
    df.aid ? tlv(0x84, df.aid) : new Uint8Array(0),
    // UICC characteristics: clock stop allowed, no preferred level; supply voltage class A/B/C
    df.id === 'MF' ? tlv(0xa5, tlv(0x80, Uint8Array.of(0x71))) : new Uint8Array(0),
    tlv(0x8a, LCSI_OPERATIONAL_ACTIVATED),
    tlv(0x8b, u16(df.id === 'MF' ? FID.EF_ARR_MF : FID.EF_ARR_ADF), Uint8Array.of(0x01)),
    pinStatus,
  );
}

export class UiccFileSystem {
  private readonly euiccIccid: Uint8Array;
  readonly shortLeZero: ShortLeZero;

  constructor(
    private readonly source: () => CardProfileView | undefined,
    options: FileSystemOptions,
  ) {
    this.euiccIccid = options.euiccIccid;
    this.shortLeZero = options.shortLeZero ?? 'maximum';
  }

  /** The tree as the enabled profile defines it now (rebuilt per command: profiles change). */
  tree(): Tree {
    const view = this.source();
    const mfEfs: EfNode[] = [
      { kind: 'transparent', fid: FID.EF_ICCID, sfi: 0x02, content: view?.iccid ?? this.euiccIccid },
      { kind: 'linear-fixed', fid: FID.EF_DIR, sfi: 0x1e, records: [efDirRecord(view?.usimAid)], recordLength: EF_DIR_RECORD_LENGTH },
    ];
    const mf: DfNode = { id: 'MF', fid: FID.MF, efs: mfEfs };
    if (!view?.usimAid) return { mf };
    const adfEfs: EfNode[] = [];
    if (view.imsi) adfEfs.push({ kind: 'transparent', fid: FID.EF_IMSI, sfi: 0x07, content: view.imsi });
    adfEfs.push({ kind: 'transparent', fid: FID.EF_AD, sfi: 0x03, content: view.ad ?? Uint8Array.of(0x00, 0x00, 0x00, 0x02) });
    for (const e of view.extraFiles ?? []) (e.parent === 'MF' ? mfEfs : adfEfs).push(extraEf(e));
    return { mf, adf: { id: 'ADF', fid: FID.ADF_CURRENT, aid: view.usimAid, efs: adfEfs } };
  }

  /** AID of ADF.USIM of the enabled profile, if any. */
  usimAid(): Uint8Array | undefined {
    return this.source()?.usimAid;
  }

  /** A cursor that still points at existing files (falls back to the MF after a profile change). */
  revalidate(cursor: FsCursor): FsCursor {
    const tree = this.tree();
    if (cursor.df === 'ADF' && !tree.adf) return INITIAL_CURSOR;
    if (!tree.adf && cursor.adfActive) return { ...cursor, adfActive: false };
    if (cursor.ef !== undefined && !this.dfNode(tree, cursor.df).efs.some((e) => e.fid === cursor.ef)) return { df: cursor.df, adfActive: cursor.adfActive };
    return cursor;
  }

  private dfNode(tree: Tree, id: DfId): DfNode {
    if (id === 'ADF') {
      if (!tree.adf) throw new StatusWordError(SW.FILE_NOT_FOUND, 'ADF.USIM does not exist (no enabled profile)');
      return tree.adf;
    }
    return tree.mf;
  }

  /** Response to SELECT per P2 b4-b3: 00 FCI (answered with the FCP), 04 FCP, 0C none, 08 FMD unsupported. */
  private selectResponse(p2: number, fcp: () => Uint8Array): Uint8Array {
    const kind = p2 & 0x0c;
    if (kind === 0x0c) return new Uint8Array(0);
    if (kind === 0x08) throw new StatusWordError(SW.INCORRECT_P1P2, 'SELECT: FMD not supported');
    return fcp();
  }

  /** SELECT ADF.USIM by AID (the card matched the AID); P2 already validated by the card. */
  selectAdf(p2: number): FsResult {
    const tree = this.tree();
    const adf = this.dfNode(tree, 'ADF');
    return { cursor: { df: 'ADF', adfActive: true }, data: this.selectResponse(p2, () => dfFcp(adf)) };
  }

  /** SELECT by file id / child DF / parent DF / path (P1 00, 01, 03, 08, 09). */
  select(cursor: FsCursor, cmd: CommandApdu): FsResult {
    if ((cmd.p2 & 0xf3) !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, `SELECT P2 ${cmd.p2.toString(16)}`);
    const tree = this.tree();
    const fids: number[] = [];
    if (cmd.data.length % 2 !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'SELECT: odd number of path bytes');
    for (let i = 0; i < cmd.data.length; i += 2) fids.push((cmd.data[i]! << 8) | cmd.data[i + 1]!);
    let target: { df: DfId; ef?: EfNode };
    switch (cmd.p1) {
      case 0x00:
        if (fids.length === 0) target = { df: 'MF' };
        else if (fids.length !== 1) throw new StatusWordError(SW.WRONG_LENGTH, 'SELECT by FID takes 2 bytes');
        else target = this.resolve(tree, cursor.df, fids[0]!, true);
        break;
      case 0x01: // child DF of the current DF: the only DF below the MF is the ADF (7FFF)
        if (fids.length !== 1) throw new StatusWordError(SW.WRONG_LENGTH, 'SELECT child DF takes 2 bytes');
        if (cursor.df !== 'MF' || fids[0] !== FID.ADF_CURRENT) throw new StatusWordError(SW.FILE_NOT_FOUND);
        target = this.resolve(tree, 'MF', FID.ADF_CURRENT, false);
        break;
      case 0x03: // parent DF of the current DF
        if (fids.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'SELECT parent DF takes no data');
        if (cursor.df === 'MF') throw new StatusWordError(SW.FILE_NOT_FOUND, 'the MF has no parent');
        target = { df: 'MF' };
        break;
      case 0x08:
      case 0x09: {
        // path from MF (08) or from the current DF (09). A leading 3F00 in a path from
        // the MF is tolerated (some terminals send it).
        const path = cmd.p1 === 0x08 && fids[0] === FID.MF ? fids.slice(1) : fids;
        if (path.length === 0) {
          if (cmd.p1 === 0x08 && fids.length === 1) {
            target = { df: 'MF' };
            break;
          }
          throw new StatusWordError(SW.WRONG_LENGTH, 'SELECT by path needs a path');
        }
        let df: DfId = cmd.p1 === 0x08 ? 'MF' : cursor.df;
        for (let i = 0; i < path.length - 1; i++) {
          const step = this.resolve(tree, df, path[i]!, false);
          df = step.df;
        }
        target = this.resolve(tree, df, path[path.length - 1]!, true);
        break;
      }
      default:
        throw new StatusWordError(SW.INCORRECT_P1P2, `SELECT P1 ${cmd.p1.toString(16)} not supported by the file system`);
    }
    const dfNode = this.dfNode(tree, target.df);
    const adfActive = cursor.adfActive || target.df === 'ADF';
    if (target.ef) {
      const ef = target.ef;
      return { cursor: { df: target.df, ef: ef.fid, adfActive }, data: this.selectResponse(cmd.p2, () => efFcp(ef, target.df === 'MF' ? FID.EF_ARR_MF : FID.EF_ARR_ADF)) };
    }
    return { cursor: { df: target.df, adfActive }, data: this.selectResponse(cmd.p2, () => dfFcp(dfNode)) };
  }

  /**
   * A file id seen from DF `from` (TS 102 221 8.4.1): the MF, the current ADF (7FFF),
   * the DF itself, or an EF child of the DF.
   */
  private resolve(tree: Tree, from: DfId, fid: number, allowEf: boolean): { df: DfId; ef?: EfNode } {
    if (fid === FID.MF) return { df: 'MF' };
    if (fid === FID.ADF_CURRENT) {
      if (!tree.adf) throw new StatusWordError(SW.FILE_NOT_FOUND, 'no ADF (7FFF)');
      return { df: 'ADF' };
    }
    const node = this.dfNode(tree, from);
    if (allowEf) {
      const ef = node.efs.find((e) => e.fid === fid);
      if (ef) return { df: from, ef };
    }
    throw new StatusWordError(SW.FILE_NOT_FOUND, `file ${fid.toString(16).toUpperCase().padStart(4, '0')} not found`);
  }

  private currentEf(tree: Tree, cursor: FsCursor, sfi: number | undefined): { cursor: FsCursor; ef: EfNode } {
    const df = this.dfNode(tree, cursor.df);
    if (sfi !== undefined) {
      const ef = df.efs.find((e) => e.sfi === sfi);
      if (!ef) throw new StatusWordError(SW.FILE_NOT_FOUND, `no EF with SFI ${sfi}`);
      const next: FsCursor = ef.fid === cursor.ef ? cursor : { df: cursor.df, ef: ef.fid, adfActive: cursor.adfActive };
      return { cursor: next, ef };
    }
    if (cursor.ef === undefined) throw new StatusWordError(SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF);
    const ef = df.efs.find((e) => e.fid === cursor.ef);
    if (!ef) throw new StatusWordError(SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF);
    return { cursor, ef };
  }

  private leFor(cmd: CommandApdu, available: number): number {
    return responseLength(cmd, available, this.shortLeZero);
  }

  /** READ BINARY (B0): P1 b8=0 offset P1P2 (15 bits); b8=1 SFI in P1 b5-b1 and offset P2. */
  readBinary(cursor: FsCursor, cmd: CommandApdu): FsResult {
    if (cmd.data.length) throw new StatusWordError(SW.WRONG_LENGTH, 'READ BINARY has no command data');
    let sfi: number | undefined;
    let offset: number;
    if (cmd.p1 & 0x80) {
      if (cmd.p1 & 0x60) throw new StatusWordError(SW.INCORRECT_P1P2);
      sfi = cmd.p1 & 0x1f;
      offset = cmd.p2;
    } else {
      offset = (cmd.p1 << 8) | cmd.p2;
    }
    const tree = this.tree();
    const { cursor: next, ef } = this.currentEf(tree, cursor, sfi);
    if (ef.kind !== 'transparent') throw new StatusWordError(SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE);
    if (offset >= ef.content.length) throw new StatusWordError(SW.WRONG_P1P2, `offset ${offset} outside an EF of ${ef.content.length} bytes`);
    const n = this.leFor(cmd, ef.content.length - offset);
    return { cursor: next, data: ef.content.slice(offset, offset + n) };
  }

  /** READ RECORD (B2): P2 b8-b4 SFI (0: current EF), b3-b1 100 absolute/current, 010 next, 011 previous. */
  readRecord(cursor: FsCursor, cmd: CommandApdu): FsResult {
    if (cmd.data.length) throw new StatusWordError(SW.WRONG_LENGTH, 'READ RECORD has no command data');
    const sfiBits = cmd.p2 >> 3;
    const mode = cmd.p2 & 0x07;
    const tree = this.tree();
    const { cursor: c, ef } = this.currentEf(tree, cursor, sfiBits === 0 ? undefined : sfiBits);
    if (ef.kind !== 'linear-fixed') throw new StatusWordError(SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE);
    const n = ef.records.length;
    const current = c.ef === cursor.ef ? cursor.record : undefined;
    let rec: number;
    if (mode === 0x04) {
      rec = cmd.p1 === 0 ? (current ?? 0) : cmd.p1;
    } else if (mode === 0x02) {
      rec = current === undefined ? 1 : current + 1;
    } else if (mode === 0x03) {
      rec = current === undefined ? n : current - 1;
    } else {
      throw new StatusWordError(SW.INCORRECT_P1P2, `READ RECORD mode ${mode}`);
    }
    if (rec < 1 || rec > n) throw new StatusWordError(SW.RECORD_NOT_FOUND, `record ${rec} of ${n}`);
    const len = ef.recordLength;
    if (cmd.le !== undefined && !leIsMaximum(cmd, this.shortLeZero) && cmd.le !== len) {
      throw new StatusWordError(wrongLeSw(len), `Le ${cmd.le}, record length ${len}`);
    }
    return { cursor: { ...c, record: rec }, data: ef.records[rec - 1]!.slice() };
  }

  /**
   * STATUS (80 F2, TS 102 221 11.1.2): P1 00/01/02; P2 00 FCP of the current DF,
   * 01 DF name of the active application (6A88 when none), 0C no data.
   */
  status(cursor: FsCursor, cmd: CommandApdu): Uint8Array {
    if (cmd.p1 > 0x02) throw new StatusWordError(SW.INCORRECT_P1P2);
    const tree = this.tree();
    switch (cmd.p2) {
      case 0x00:
        return dfFcp(this.dfNode(tree, cursor.df));
      case 0x01:
        if (!cursor.adfActive || !tree.adf?.aid) throw new StatusWordError(SW.REFERENCED_DATA_NOT_FOUND, 'no active application');
        return tlv(0x84, tree.adf.aid);
      case 0x0c:
        return new Uint8Array(0);
      default:
        throw new StatusWordError(SW.INCORRECT_P1P2);
    }
  }

  /** Commands of the file system other than SELECT / STATUS. */
  process(cursor: FsCursor, cmd: CommandApdu): FsResult {
    switch (cmd.ins) {
      case INS_READ_BINARY:
        return this.readBinary(cursor, cmd);
      case INS_READ_RECORD:
        return this.readRecord(cursor, cmd);
      case INS_UPDATE_BINARY:
      case INS_UPDATE_RECORD:
        // the profile's files are only writable with ADM, which this card never grants
        throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED);
      default:
        throw new StatusWordError(SW.INS_NOT_SUPPORTED);
    }
  }
}

/** Le asks for "as much as available": extended 0000, or short 00 unless read as exactly 256. */
export function leIsMaximum(cmd: CommandApdu, shortLeZero: ShortLeZero): boolean {
  if (cmd.le === undefined) return false;
  return cmd.extended ? cmd.le === 65536 : cmd.le === 256 && shortLeZero === 'maximum';
}

/**
 * How many of `available` bytes of fixed-length data to return for the command's Le:
 * all (up to 256) without Le (the card then answers 61xx), all (up to Ne) for a maximum
 * Le, Le when Le <= available; throws 6Cxx (SW2 = available) when Le > available.
 */
export function responseLength(cmd: CommandApdu, available: number, shortLeZero: ShortLeZero): number {
  if (cmd.le === undefined) return Math.min(available, 256);
  if (leIsMaximum(cmd, shortLeZero)) return Math.min(available, cmd.extended ? 65536 : 256);
  if (cmd.le > available) throw new StatusWordError(wrongLeSw(available), `Le ${cmd.le} > ${available} bytes available`);
  return cmd.le;
}

/** true when `aid` starts with `prefix` (partial DF name matching, ISO 7816-4 5.3.1.2). */
export function aidMatches(aid: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.length <= aid.length && equalBytes(aid.subarray(0, prefix.length), prefix);
}
