// The SM-DP+ profile inventory (SGP.22 3.1.6): template UPPs (GSMA TS.48 SAIP packages,
// sim/smdp/profiles/*.der by default) and inventory entries, each a template with its
// own ICCID/IMSI (personalised with sim/saip at binding time, SGP.22 2.5.2 UPP) and its
// own metadata. ICCIDs/IMSIs come from a per-data-dir batch number plus a persisted
// serial, so they are unique per entry and differ between data directories.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProfile } from '../saip/profile.ts';
import { personaliseProfile } from '../saip/personalise.ts';
import { iccidLuhn } from '../rsp/iccid.ts';
import { SmdpConfigError } from './errors.ts';
import type { ProfileRecord, SmdpDb } from './db.ts';
import { validateMetadata, type MetadataOverrides } from './metadata.ts';

export const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('./profiles/', import.meta.url));

export interface ProfileTemplate {
  name: string;
  upp: Uint8Array;
  /** ProfileHeader profileType */
  headerProfileType?: string;
  iccid: string;
  imsi?: string;
}

/** What to put in a fresh inventory (or add later). */
export interface InventorySpec {
  /** template name (file name without .der) */
  template: string;
  /** number of entries (default 1) */
  count?: number;
  /** ES2+ profileType of the entries (default: the template name) */
  profileType?: string;
  metadata?: MetadataOverrides;
}

const templateCache = new Map<string, { stamp: string; templates: ReadonlyMap<string, ProfileTemplate> }>();

/** Load every *.der template of a directory (parsed once per process while the files are unchanged). */
export function loadTemplates(dir: string): ReadonlyMap<string, ProfileTemplate> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.der')).sort();
  } catch (e) {
    throw new SmdpConfigError(`cannot read profiles directory '${dir}': ${(e as Error).message}`);
  }
  if (files.length === 0) throw new SmdpConfigError(`profiles directory '${dir}' has no .der profile packages`);
  const stamp = files.map((f) => {
    const st = statSync(join(dir, f));
    return `${f}:${st.size}:${st.mtimeMs}`;
  }).join('|');
  const key = resolve(dir);
  const cached = templateCache.get(key);
  if (cached && cached.stamp === stamp) return cached.templates;
  const out = new Map<string, ProfileTemplate>();
  for (const f of files) {
    const upp = new Uint8Array(readFileSync(join(dir, f)));
    const summary = readProfile(upp);
    const t: ProfileTemplate = { name: basename(f, '.der'), upp, iccid: summary.iccid };
    if (summary.profileType !== undefined) t.headerProfileType = summary.profileType;
    if (summary.imsi !== undefined) t.imsi = summary.imsi;
    out.set(t.name, t);
  }
  templateCache.set(key, { stamp, templates: out });
  return out;
}

/** ICCID for a serial: 89 000 + batch(4) + serial(10) + Luhn (20 digits). */
export function iccidFor(batch: string, serial: number): string {
  const body = `89000${batch}${String(serial).padStart(10, '0')}`;
  return body + String(iccidLuhn(body));
}

/** IMSI for a serial: test MCC/MNC 001/01 + batch(3) + serial(7) (15 digits). */
export function imsiFor(batch: string, serial: number): string {
  return `00101${batch.slice(0, 3)}${String(serial % 10_000_000).padStart(7, '0')}`;
}

/** Check inventory specs against the templates; returns how many entries they create. */
export function checkInventory(templates: ReadonlyMap<string, ProfileTemplate>, specs: readonly InventorySpec[]): number {
  for (const spec of specs) {
    if (!templates.has(spec.template)) throw new SmdpConfigError(`unknown profile template '${spec.template}' (known: ${[...templates.keys()].join(', ')})`);
    if (spec.count !== undefined && (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 100_000)) throw new SmdpConfigError(`inventory count must be 1..100000, got ${spec.count}`);
    if (spec.metadata) validateMetadata(spec.metadata);
  }
  return specs.reduce((n, s) => n + (s.count ?? 1), 0);
}

/** Create inventory entries (inside db.tx). */
export function addInventory(db: SmdpDb, templates: ReadonlyMap<string, ProfileTemplate>, specs: readonly InventorySpec[], now: number): ProfileRecord[] {
  checkInventory(templates, specs);
  return db.tx(() => {
    const batch = db.meta().batch;
    const created: ProfileRecord[] = [];
    for (const spec of specs) {
      const count = spec.count ?? 1;
      const first = db.takeSerials(count);
      for (let i = 0; i < count; i++) {
        const serial = first + i;
        const rec: ProfileRecord = {
          iccid: iccidFor(batch, serial),
          imsi: imsiFor(batch, serial),
          template: spec.template,
          profileType: spec.profileType ?? spec.template,
          state: 'Available',
          metadata: spec.metadata ?? {},
          createdAt: now,
          updatedAt: now,
          history: [{ state: 'Available', at: now, event: 'created' }],
        };
        db.profiles.put(rec.iccid, rec);
        created.push(rec);
      }
    }
    return created;
  });
}

/** The default inventory: `perTemplate` entries of every template. */
export function defaultInventory(templates: ReadonlyMap<string, ProfileTemplate>, perTemplate: number): InventorySpec[] {
  return [...templates.keys()].map((template) => ({ template, count: perTemplate }));
}

/** The UPP of an inventory entry: its template with the entry's ICCID and IMSI. */
export function personalisedUpp(templates: ReadonlyMap<string, ProfileTemplate>, profile: Pick<ProfileRecord, 'template' | 'iccid' | 'imsi'>): Uint8Array {
  const t = templates.get(profile.template);
  if (!t) throw new SmdpConfigError(`profile ${profile.iccid}: template '${profile.template}' is not loaded`);
  return personaliseProfile(t.upp, { iccid: profile.iccid, imsi: profile.imsi });
}
