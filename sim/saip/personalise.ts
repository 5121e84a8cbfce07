// Personalisation of a SAIP profile package (eUICC Profile Package v2.x, GSMA
// TS.48 test profiles): give a template UPP its own ICCID (ITU-T E.118) and IMSI
// (3GPP TS 31.102 4.2.2). Three values change: ProfileHeader iccid [3] (plain
// BCD), MF ef-iccid [4] fillFileContent (swapped BCD) and, in every USIM PE,
// ef-imsi [3] fillFileContent. The TLVs around them are rebuilt with re-encoded
// lengths; every other byte of the package is kept as it was.
import { equalBytes } from '../bytes.ts';
import { assertValidIccid, iccidToBytes, IccidError } from '../rsp/iccid.ts';
import { assertValidImsi, EF_IMSI_SIZE, encodeEfImsi } from './ef-imsi.ts';
import { PE_STATUS, SaipError } from './errors.ts';
import { FileItem, firstContentTlv } from './file.ts';
import { digitsToHeaderIccid, ProfileHeaderSeq } from './header.ts';
import { headerElement, MF_EF_ICCID, peFile, USIM_EF_IMSI } from './profile.ts';
import { joinProfileElements, splitProfileElements, type ProfileElementTlv } from './package.ts';
import { replaceTlv } from './tlv.ts';

export interface PersonaliseValues {
  /** 19 or 20 digits with a valid Luhn check digit */
  iccid?: string;
  /** 6..15 digits */
  imsi?: string;
}

function validate(values: PersonaliseValues): void {
  if (values.iccid !== undefined) {
    try {
      assertValidIccid(values.iccid);
    } catch (e) {
      if (e instanceof IccidError) throw new SaipError('invalidInput', e.message, { field: 'iccid', cause: e });
      throw e;
    }
  }
  if (values.imsi !== undefined) assertValidImsi(values.imsi);
}

function missing(name: string): SaipError {
  return new SaipError('missingElement', `the profile has no ${name} PE`, { peStatus: PE_STATUS.invalidRequestFormat });
}

function replaceFileContent(pe: ProfileElementTlv, n: number, label: string, content: (old: Uint8Array) => Uint8Array): Uint8Array {
  const file = peFile(pe, n, label);
  if (!file) throw new SaipError('missingFile', `${pe.name} PE has no ${label}`, { peStatus: PE_STATUS.badValues, offset: pe.offset });
  const target = firstContentTlv(file.tlv, `${pe.name}/${label}`);
  return replaceTlv(pe.tlv, target, FileItem.encode({ fillFileContent: content(target.value) }));
}

// The SM-DP+ personalises the same few template packages for every download: their split
// is kept per package object, with a private copy of the bytes (the elements are views
// into it), so a package changed in place by its owner is noticed and split again.
const splitTemplates = new WeakMap<Uint8Array, { bytes: Uint8Array; elements: ProfileElementTlv[] }>();

function splitTemplate(upp: Uint8Array): ProfileElementTlv[] {
  const hit = splitTemplates.get(upp);
  if (hit && equalBytes(hit.bytes, upp)) return hit.elements;
  const bytes = upp.slice();
  const elements = splitProfileElements(bytes);
  splitTemplates.set(upp, { bytes, elements });
  return elements;
}

/**
 * A new UPP with the given ICCID and/or IMSI. Inputs are validated first
 * (SaipError kind 'invalidInput' naming the field); the input package is not modified.
 */
export function personaliseProfile(upp: Uint8Array, values: PersonaliseValues): Uint8Array {
  validate(values);
  const elements = splitTemplate(upp);
  const { pe: headerPe, header } = headerElement(elements);
  const out: Uint8Array[] = elements.map((e) => e.raw);

  if (values.iccid !== undefined) {
    const iccid = values.iccid;
    // header: re-encode the iccid component through the engine, keep everything else
    const headerIccid = headerPe.tlv.children.find((c) => c.tag === 0x83);
    if (!headerIccid || !equalBytes(headerIccid.value, header.iccid))
      throw new SaipError('invalidContent', 'ProfileHeader iccid [3] not found among the header components', { peStatus: PE_STATUS.badValues, offset: 0 });
    out[0] = replaceTlv(headerPe.tlv, headerIccid, ProfileHeaderSeq.fields.iccid.encode(digitsToHeaderIccid(iccid)));

    const mfIndex = elements.findIndex((e) => e.name === 'mf');
    if (mfIndex < 0) throw missing('mf');
    out[mfIndex] = replaceFileContent(elements[mfIndex]!, MF_EF_ICCID, 'ef-iccid', () => iccidToBytes(iccid));
  }

  if (values.imsi !== undefined) {
    const imsi = values.imsi;
    let found = false;
    elements.forEach((e, i) => {
      if (e.name !== 'usim') return;
      found = true;
      out[i] = replaceFileContent(e, USIM_EF_IMSI, 'ef-imsi', (old) => encodeEfImsi(imsi, Math.max(old.byteLength, EF_IMSI_SIZE)));
    });
    if (!found) throw missing('usim');
  }
  return joinProfileElements(out.map((raw) => ({ raw })));
}
