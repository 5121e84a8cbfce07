import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { decode, encode, parseTlv } from '../rsp/der.ts';
import { SaipError } from './errors.ts';
import { fileComponent, fileContent, fileFcp, firstContentTlv, type FileItem } from './file.ts';
import { splitProfileElements } from './package.ts';
import { tlv } from './testdata/hex.ts';
import { loadProfile } from './testdata/ts48.ts';
import { encodeTlv, replaceTlv } from './tlv.ts';

describe('SAIP File / Fcp codec', () => {
  it('decodes MF ef-iccid of a TS.48 profile and re-encodes it byte-exactly', () => {
    const mf = splitProfileElements(loadProfile('TS48v1_A.der')).find((e) => e.name === 'mf')!;
    const a4 = mf.tlv.children.find((c) => c.tag === 0xa4)!;
    const items = decode(fileComponent(4), a4.raw);
    const fcp = fileFcp(items)!;
    expect(toHex(fcp.fileDescriptor!)).toBe('4121');
    expect(toHex(fcp.fileID!)).toBe('2fe2');
    expect(toHex(fcp.securityAttributesReferenced!)).toBe('2f0603');
    expect(fcp.proprietaryEFInfo).toEqual({ specialFileInformation: hexToBytes('40') });
    expect(toHex(fileContent(items)!)).toBe('98001032547698103214');
    expect(toHex(encode(fileComponent(4), items))).toBe(toHex(a4.raw));
  });

  it('linearises fill items: offsets skip (FF), contents write in order', () => {
    const items: FileItem[] = [
      { fileDescriptor: { fileID: hexToBytes('6f07') } },
      { fillFileContent: hexToBytes('0102') },
      { fillFileOffset: 2 },
      { fillFileContent: hexToBytes('03') },
    ];
    expect(toHex(fileContent(items)!)).toBe('0102ffff03');
    expect(fileContent([{ fileDescriptor: {} }])).toBeUndefined();
    expect(fileContent([{ doNotCreate: null }, { fillFileContent: hexToBytes('01') }])).toBeUndefined();
    // and the DER of such a File
    expect(toHex(encode(fileComponent(3), items))).toBe(tlv('a3', [tlv('a1', [tlv('83', '6f07')]), tlv('83', '0102'), tlv('82', '02'), tlv('83', '03')]));
  });

  it('finds the content written from offset 0, or says why not', () => {
    const fcp = tlv('a1', [tlv('83', '6f07')]);
    const ok = parseTlv(hexToBytes(tlv('a3', [fcp, tlv('83', '010203')])));
    expect(toHex(firstContentTlv(ok, 'x').value)).toBe('010203');
    const saipError = (hex: string) => {
      try {
        firstContentTlv(parseTlv(hexToBytes(hex)), 'usim/ef-imsi', 100);
      } catch (err) {
        if (err instanceof SaipError) return err;
        throw err;
      }
      throw new Error('no SaipError thrown');
    };
    let e = saipError(tlv('a3', [fcp, tlv('82', '01'), tlv('83', 'ff')]));
    expect([e.kind, e.offset]).toEqual(['unsupportedLayout', 100 + 8]);
    e = saipError(tlv('a3', [fcp, tlv('80', '')]));
    expect([e.kind, e.peStatus, e.offset]).toEqual(['missingFile', 3, 100]);
    e = saipError(tlv('a3', [fcp]));
    expect([e.kind, e.peStatus, e.offset]).toEqual(['missingFile', 3, 100]);
  });
});

describe('TLV rebuilding', () => {
  it('re-encodes enclosing lengths when a nested value grows past 127 bytes', () => {
    const root = parseTlv(hexToBytes('b008' + 'a406' + '8304' + '01020304'));
    const target = root.children[0]!.children[0]!;
    const bigger = encodeTlv({ cls: 'context', num: 3 }, false, new Uint8Array(200).fill(0xaa));
    const out = replaceTlv(root, target, bigger);
    expect(toHex(out.subarray(0, 9))).toBe('b081ce' + 'a481cb' + '8381c8');
    const back = parseTlv(out);
    expect(back.children[0]!.children[0]!.value.byteLength).toBe(200);
    // replacing with the same length changes only the value bytes
    const same = replaceTlv(root, target, encodeTlv({ cls: 'context', num: 3 }, false, hexToBytes('05060708')));
    expect(toHex(same)).toBe('b008a406830405060708');
    // a TLV outside the tree leaves the root untouched
    expect(toHex(replaceTlv(root.children[0]!, root, bigger))).toBe('a406830401020304');
  });
});
