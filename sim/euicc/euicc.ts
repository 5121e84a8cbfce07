// The software eUICC as a whole (SGP.22 2.4: ISD-R, ECASD, ISD-Ps with their profiles,
// on the card layer of card/): createEuicc() builds the card, loads or creates the
// state, turns a "BPP in progress" marker left by a crash into an interruption
// notification (5.7.6), and exposes an ApduTransport (in-process), a VpcdCard, fault
// injection, state read helpers and events. Several Euicc objects must not share one
// state file at the same time.
import { randomBytes } from 'node:crypto';
import type { ApduTransport } from '../apdu/apdu.ts';
import type { VpcdCard } from '../vpcd/card-side.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { encodeEfImsi } from '../saip/ef-imsi.ts';
import { readProfile, type AkaParameters } from '../saip/profile.ts';
import { hexToBytes } from '../bytes.ts';
import { Card } from './card/card.ts';
import { ECASD_AID, FciOnlyApplet } from './card/applet.ts';
import type { CardProfileView } from './card/filesystem.ts';
import { EuiccContext } from './context.ts';
import type { ProfileSwitchEnv } from './es10c.ts';
import { DownloadManager, recoverInterruptedBpp } from './download.ts';
import { EuiccEvents } from './events.ts';
import { EuiccFaults, type CardControl } from './faults.ts';
import { checkIdentities, IdentityError, identityFromPersisted, issueFreshIdentities, sgp26Identities, type EuiccIdentity, type PersistedIdentity } from './identity.ts';
import { IsdR } from './isdr.ts';
import { resolveOptions, type EuiccOptions, type ResolvedOptions } from './options.ts';
import { initialState, StateFileError, StateStore, type BppMarker, type NotificationConfig, type NotificationKind, type PprName, type ProfileClass, type StoredProfile } from './state.ts';

/** A profile as the state helpers show it (no package content, no keys). */
export interface ProfileSnapshot {
  readonly iccid: string;
  readonly isdpAid: string;
  readonly state: 'enabled' | 'disabled';
  readonly nickname?: string;
  readonly serviceProviderName: string;
  readonly profileName: string;
  readonly profileClass: ProfileClass;
  readonly policyRules: readonly PprName[];
  readonly notificationConfiguration: readonly NotificationConfig[];
  readonly profileOwner?: { readonly mccMnc: string; readonly gid1?: string; readonly gid2?: string };
  readonly dpOid?: string;
  readonly profileType?: string;
  readonly imsi?: string;
  readonly usimAid?: string;
  /** NVM the profile takes, bytes */
  readonly size: number;
  readonly smdpAddress: string;
  readonly smdpOid: string;
  readonly installedAt: string;
}

export interface NotificationSnapshot {
  readonly seqNumber: number;
  readonly kind: NotificationKind;
  readonly iccid?: string;
  readonly address: string;
  /** the PendingNotification DER (BF37 ProfileInstallationResult or 30 OtherSignedNotification) */
  readonly der: Uint8Array;
}

/** Read helpers over the persistent state. */
export interface EuiccStateView {
  profiles(): ProfileSnapshot[];
  profile(iccid: string): ProfileSnapshot | undefined;
  enabledProfile(): ProfileSnapshot | undefined;
  /** pending notifications by sequence number */
  notifications(): NotificationSnapshot[];
  lastSeqNumber(): number;
  memory(): { total: number; used: number; free: number };
  addresses(): { defaultDpAddress?: string; rootDsAddress: string };
  /** the marker of a BPP being loaded (ISCR accepted, not ended) */
  bppInProgress(): BppMarker | undefined;
  /** AKA parameters of an installed profile's USIM (Ki/OPc: never log them) */
  akaParameters(iccid: string): AkaParameters | undefined;
}

export interface Euicc extends ApduTransport, VpcdCard {
  readonly eid: string;
  readonly identities: readonly EuiccIdentity[];
  readonly options: ResolvedOptions;
  readonly card: Card;
  readonly isdr: IsdR;
  readonly faults: EuiccFaults;
  readonly events: EuiccEvents;
  readonly state: EuiccStateView;
  /** interruption notification stored at start-up for a BPP the previous process left unfinished */
  readonly recoveredInterruption: boolean;
}

function snapshot(p: StoredProfile): ProfileSnapshot {
  return {
    iccid: p.iccid,
    isdpAid: p.isdpAid,
    state: p.enabled ? 'enabled' : 'disabled',
    ...(p.nickname !== undefined ? { nickname: p.nickname } : {}),
    serviceProviderName: p.serviceProviderName,
    profileName: p.profileName,
    profileClass: p.profileClass,
    policyRules: [...p.policyRules],
    notificationConfiguration: p.notificationConfiguration.map((c) => ({ events: [...c.events], address: c.address })),
    ...(p.profileOwner ? { profileOwner: { ...p.profileOwner } } : {}),
    ...(p.dpOid !== undefined ? { dpOid: p.dpOid } : {}),
    ...(p.profileType !== undefined ? { profileType: p.profileType } : {}),
    ...(p.imsi !== undefined ? { imsi: p.imsi } : {}),
    ...(p.usimAid !== undefined ? { usimAid: p.usimAid } : {}),
    size: p.size,
    smdpAddress: p.smdpAddress,
    smdpOid: p.smdpOid,
    installedAt: p.installedAt,
  };
}

class StateView implements EuiccStateView {
  constructor(private readonly ctx: EuiccContext) {}
  profiles(): ProfileSnapshot[] {
    return this.ctx.state.profiles.map(snapshot);
  }
  profile(iccid: string): ProfileSnapshot | undefined {
    const p = this.ctx.findByIccid(iccid);
    return p && snapshot(p);
  }
  enabledProfile(): ProfileSnapshot | undefined {
    const p = this.ctx.enabledProfile();
    return p && snapshot(p);
  }
  notifications(): NotificationSnapshot[] {
    return [...this.ctx.state.notifications]
      .sort((a, b) => a.seqNumber - b.seqNumber)
      .map((n) => ({ seqNumber: n.seqNumber, kind: n.kind, ...(n.iccid !== undefined ? { iccid: n.iccid } : {}), address: n.address, der: hexToBytes(n.pendingNotification) }));
  }
  lastSeqNumber(): number {
    return this.ctx.state.lastSeqNumber;
  }
  memory(): { total: number; used: number; free: number } {
    return { total: this.ctx.options.totalNvm, used: this.ctx.usedNvm(), free: this.ctx.freeNvm() };
  }
  addresses(): { defaultDpAddress?: string; rootDsAddress: string } {
    const s = this.ctx.state;
    return { ...(s.defaultDpAddress ? { defaultDpAddress: s.defaultDpAddress } : {}), rootDsAddress: s.rootDsAddress };
  }
  bppInProgress(): BppMarker | undefined {
    const m = this.ctx.state.bppInProgress;
    return m && { ...m };
  }
  akaParameters(iccid: string): AkaParameters | undefined {
    const p = this.ctx.findByIccid(iccid);
    return p && readProfile(hexToBytes(p.upp)).akaParameters;
  }
}

/** The card's view of the enabled profile: EF.ICCID, EF.IMSI, ADF.USIM. */
function profileViewOf(ctx: EuiccContext): () => CardProfileView | undefined {
  let cache: { key: string; view: CardProfileView } | undefined;
  return () => {
    const p = ctx.enabledProfile();
    if (!p) return undefined;
    const key = `${p.iccid}/${p.isdpAid}`;
    if (cache?.key !== key) {
      cache = {
        key,
        view: {
          iccid: iccidToBytes(p.iccid),
          ...(p.imsi !== undefined ? { imsi: encodeEfImsi(p.imsi) } : {}),
          ...(p.usimAid !== undefined ? { usimAid: hexToBytes(p.usimAid) } : {}),
        },
      };
    }
    return cache.view;
  };
}

async function resolveIdentities(o: ResolvedOptions, stored: { freshIdentities?: PersistedIdentity[] } | undefined): Promise<{ identities: EuiccIdentity[]; persisted?: PersistedIdentity[] }> {
  const choice = o.identity;
  if (choice === 'nist' || choice === 'brp' || choice === 'both') return { identities: sgp26Identities(choice) };
  if (typeof choice === 'object' && 'identities' in choice) return { identities: [...choice.identities] };
  const fresh = choice === 'fresh' ? {} : choice.fresh;
  if (stored?.freshIdentities?.length) {
    let identities: EuiccIdentity[];
    try {
      identities = stored.freshIdentities.map(identityFromPersisted);
    } catch (e) {
      if (!(e instanceof IdentityError)) throw e;
      throw new StateFileError(`eUICC state file ${o.statePath}: freshIdentities: ${e.message}; restore it from a backup`);
    }
    if (fresh.eid !== undefined && identities[0]!.eid !== fresh.eid) throw new StateFileError(`state file belongs to EID ${identities[0]!.eid}, not ${fresh.eid}`);
    return { identities, persisted: stored.freshIdentities };
  }
  return issueFreshIdentities(fresh);
}

/** Build a software eUICC (loads the state file when it exists, creates it otherwise). */
export async function createEuicc(options: EuiccOptions = {}): Promise<Euicc> {
  const o = resolveOptions(options);
  const store = new StateStore(o.statePath);
  const stored = store.load();
  const { identities, persisted } = await resolveIdentities(o, stored);
  const { eid } = checkIdentities(identities);
  if (stored && stored.eid !== eid) throw new StateFileError(`state file ${o.statePath} belongs to EID ${stored.eid}, this eUICC is ${eid}`);
  const state = stored ?? initialState(eid, o.rootDsAddress, o.defaultDpAddress);
  if (persisted) state.freshIdentities = persisted;

  let card: Card | undefined;
  const control: CardControl = {
    remove: () => card!.remove(),
    insert: () => card!.insert(),
    reset: () => card!.reset(),
  };
  const events = new EuiccEvents();
  const faults = new EuiccFaults(control);
  const ctx = new EuiccContext(o, identities, eid, store, state, events, faults);
  const download = new DownloadManager(ctx);
  const env: ProfileSwitchEnv = { ctx, download, random: (n) => new Uint8Array(randomBytes(n)), proactiveSessionPending: () => card?.proactiveSessionPending ?? false };
  const isdr = new IsdR(env);
  card = new Card({
    ...o.card,
    applets: [isdr, new FciOnlyApplet(ECASD_AID)],
    profileView: profileViewOf(ctx),
    beforeCommand: (c) => faults.beforeApdu(c),
  });
  // the card side of a profile change: REFRESH / ES10 blocked until reset (per its profileChange options)
  events.on('profile', (e) => {
    if (e.change === 'enabled' || e.change === 'disabled') card?.profileStateChanged({ refresh: false });
  });
  events.on('refresh', () => card?.profileStateChanged({ refresh: true }));
  const recovered = recoverInterruptedBpp(ctx) !== undefined;
  if (!stored || persisted || store.upgradeDue) ctx.save();
  return new EuiccImpl(ctx, card, isdr, new StateView(ctx), recovered);
}

class EuiccImpl implements Euicc {
  readonly eid: string;
  readonly identities: readonly EuiccIdentity[];
  readonly options: ResolvedOptions;
  readonly faults: EuiccFaults;
  readonly events: EuiccEvents;

  constructor(
    ctx: EuiccContext,
    readonly card: Card,
    readonly isdr: IsdR,
    readonly state: EuiccStateView,
    readonly recoveredInterruption: boolean,
  ) {
    this.eid = ctx.eid;
    this.identities = ctx.identities;
    this.options = ctx.options;
    this.faults = ctx.faults;
    this.events = ctx.events;
  }

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    return this.card.transmit(capdu);
  }
  reset(): Promise<Uint8Array> {
    return this.card.reset();
  }
  close(): Promise<void> {
    return this.card.close();
  }
  atr(): Uint8Array {
    return this.card.atr();
  }
  powerOn(): Promise<void> {
    return this.card.powerOn();
  }
  powerOff(): Promise<void> {
    return this.card.powerOff();
  }
}
