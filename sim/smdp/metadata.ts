// Profile metadata the SM-DP+ sends (SGP.22 5.5.3 StoreMetadataRequest 'BF25', given to
// the LPA in ES9+.AuthenticateClient 5.6.3 and protected as '88' segments in the BPP
// 2.5.4): ICCID, service provider name, profile name, class, icon, profile owner and
// notificationConfigurationInfo (install/enable/disable/delete notifications to this
// SM-DP+) and Profile Policy Rules. Defaults come from the template profile; every value can be set per entry.
import { z } from 'zod';
import { StoreMetadataRequest } from '../rsp/es8p.ts';
import type { NotificationEvent } from '../rsp/common.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { base64ToBytes, JsonFieldError } from '../rsp/json.ts';
import { hexToBytes, HexError } from '../bytes.ts';
import { SmdpConfigError } from './errors.ts';

export type ProfileClassName = 'test' | 'provisioning' | 'operational';

/** Profile management operations of notifications (SGP.22 NotificationEvent bits). */
export const NOTIFICATION_OPERATIONS = ['install', 'enable', 'disable', 'delete'] as const;
export type NotificationOperation = (typeof NOTIFICATION_OPERATIONS)[number];

/**
 * Per-entry metadata settings (JSON-friendly: icon as base64, mccMnc/gids as hex), as a
 * schema for the types; validateMetadata adds the size and encoding rules.
 */
const MetadataShape = z.strictObject({
  serviceProviderName: z.string().optional(),
  profileName: z.string().optional(),
  profileClass: z.enum(['test', 'provisioning', 'operational']).optional(),
  iconType: z.enum(['jpg', 'png']).optional(),
  /** base64, at most 1024 bytes */
  icon: z.string().optional(),
  /** operations announced in notificationConfigurationInfo; [] leaves it out */
  notificationOperations: z.array(z.enum(NOTIFICATION_OPERATIONS)).optional(),
  /** notificationAddress (default: this SM-DP+'s address) */
  notificationAddress: z.string().max(1024).optional(),
  profileOwner: z.strictObject({ mccMnc: z.string(), gid1: z.string().optional(), gid2: z.string().optional() }).optional(),
  /**
   * Profile Policy Rules (SGP.22 2.9.2): ppr1 = disabling not allowed, ppr2 = deletion not
   * allowed. The eUICC accepts them only when its RAT allows them for the profileOwner.
   */
  profilePolicyRules: z.array(z.enum(['ppr1', 'ppr2'])).optional(),
});
export type MetadataOverrides = z.infer<typeof MetadataShape>;

/** The metadata of an inventory record: shape and rules (validateMetadata). */
export const MetadataOverridesSchema = MetadataShape.superRefine((m, ctx) => {
  try {
    validateMetadata(m);
  } catch (e) {
    if (!(e instanceof SmdpConfigError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.message });
  }
});

export const DEFAULT_NOTIFICATION_OPERATIONS: readonly NotificationOperation[] = ['install', 'enable', 'disable', 'delete'];

const EVENT_OF: Record<NotificationOperation, NotificationEvent[number]> = {
  install: 'notificationInstall',
  enable: 'notificationEnable',
  disable: 'notificationDisable',
  delete: 'notificationDelete',
};

const CLASS_VALUE: Record<ProfileClassName, number> = { test: 0, provisioning: 1, operational: 2 };

function bytesField(what: string, f: () => Uint8Array): Uint8Array {
  try {
    return f();
  } catch (e) {
    if (e instanceof HexError || e instanceof JsonFieldError) throw new SmdpConfigError(`metadata ${what}: ${e.message}`);
    throw e;
  }
}

/** Check overrides (config files, control API); throws SmdpConfigError naming the field. */
export function validateMetadata(m: MetadataOverrides): void {
  if (m.serviceProviderName !== undefined && new TextEncoder().encode(m.serviceProviderName).byteLength > 32)
    throw new SmdpConfigError('metadata serviceProviderName: at most 32 bytes');
  if (m.profileName !== undefined && new TextEncoder().encode(m.profileName).byteLength > 64) throw new SmdpConfigError('metadata profileName: at most 64 bytes');
  if (m.profileClass !== undefined && !(m.profileClass in CLASS_VALUE)) throw new SmdpConfigError(`metadata profileClass: unknown class '${String(m.profileClass)}'`);
  if (m.iconType !== undefined && m.iconType !== 'jpg' && m.iconType !== 'png') throw new SmdpConfigError('metadata iconType: jpg or png');
  if (m.icon !== undefined) {
    const icon = bytesField('icon', () => base64ToBytes(m.icon!, 'icon'));
    if (icon.byteLength > 1024) throw new SmdpConfigError('metadata icon: at most 1024 bytes');
    if (m.iconType === undefined) throw new SmdpConfigError('metadata icon: iconType is required with an icon');
  }
  for (const op of m.notificationOperations ?? [])
    if (!(op in EVENT_OF)) throw new SmdpConfigError(`metadata notificationOperations: unknown operation '${String(op)}'`);
  for (const ppr of m.profilePolicyRules ?? [])
    if (ppr !== 'ppr1' && ppr !== 'ppr2') throw new SmdpConfigError(`metadata profilePolicyRules: unknown rule '${String(ppr)}' (ppr1 or ppr2)`);
  if (m.profileOwner) {
    if (bytesField('profileOwner.mccMnc', () => hexToBytes(m.profileOwner!.mccMnc)).byteLength !== 3) throw new SmdpConfigError('metadata profileOwner.mccMnc: 3 bytes (6 hex digits)');
    if (m.profileOwner.gid1 !== undefined) bytesField('profileOwner.gid1', () => hexToBytes(m.profileOwner!.gid1!));
    if (m.profileOwner.gid2 !== undefined) bytesField('profileOwner.gid2', () => hexToBytes(m.profileOwner!.gid2!));
  }
}

export interface MetadataInput {
  iccid: string;
  /** template name and header profileType, for the defaults */
  template: string;
  headerProfileType?: string;
  /** this SM-DP+'s address (default notificationAddress) */
  smdpAddress: string;
  overrides: MetadataOverrides;
}

/** The StoreMetadataRequest value for an inventory entry. */
export function buildMetadata(input: MetadataInput): StoreMetadataRequest {
  const o = input.overrides;
  const ops = o.notificationOperations ?? DEFAULT_NOTIFICATION_OPERATIONS;
  const md: StoreMetadataRequest = {
    iccid: iccidToBytes(input.iccid),
    serviceProviderName: o.serviceProviderName ?? 'bridgelab',
    profileName: o.profileName ?? truncateUtf8(`${input.headerProfileType ?? 'Test Profile'} ${input.template}`, 64),
    profileClass: CLASS_VALUE[o.profileClass ?? 'operational'],
  };
  if (o.icon !== undefined && o.iconType !== undefined) {
    md.iconType = o.iconType === 'jpg' ? 0 : 1;
    md.icon = base64ToBytes(o.icon, 'icon');
  }
  if (ops.length > 0)
    md.notificationConfigurationInfo = [{ profileManagementOperation: ops.map((op) => EVENT_OF[op]), notificationAddress: o.notificationAddress ?? input.smdpAddress }];
  if (o.profileOwner) {
    md.profileOwner = { mccMnc: hexToBytes(o.profileOwner.mccMnc) };
    if (o.profileOwner.gid1 !== undefined) md.profileOwner.gid1 = hexToBytes(o.profileOwner.gid1);
    if (o.profileOwner.gid2 !== undefined) md.profileOwner.gid2 = hexToBytes(o.profileOwner.gid2);
  }
  if (o.profilePolicyRules?.length) md.profilePolicyRules = [...new Set(o.profilePolicyRules)];
  return md;
}

/** DER of the StoreMetadataRequest ('BF25'). */
export function encodeMetadata(md: StoreMetadataRequest): Uint8Array {
  return StoreMetadataRequest.encode(md);
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = s;
  while (new TextEncoder().encode(out).byteLength > maxBytes) out = out.slice(0, -1);
  return out;
}
