// Campaign `euicc`: C-APDUs into the software eUICC in process (createEuicc, SGP.22 ES10
// over GlobalPlatform STORE DATA 5.7.2, ISO/IEC 7816-4 / ETSI TS 102 221 card commands).
// Inputs are episodes of 64 APDUs from a fresh card (warm reset, persistent state restored
// to a template with two installed profiles and pending notifications): MANAGE CHANNEL,
// SELECT (ISD-R, ECASD, USIM, files), STORE DATA chains of every ES10 request (valid,
// DER-mutated, or with mutated blocks), GET RESPONSE after 61xx, READ BINARY/RECORD,
// STATUS, TERMINAL CAPABILITY/PROFILE, and random APDUs. One episode in 32 first runs a
// valid download session (GetEUICCChallenge, AuthenticateServer, PrepareDownload with the
// test SM-DP+ binder) and then sends a mutated Bound Profile Package, or sends an
// AuthenticateServer / PrepareDownload signed by the binder around a mutated SM-DP+
// certificate (or mutated after signing).
//
// Checked for every APDU: the transmit settles within the watchdog and does not reject
// (the card runs with internalErrorPolicy 'throw', so an applet bug is a rejection with
// its stack, not a silent 6F00); the R-APDU has SW1-SW2; the SW is one sim/apdu/sw.ts
// defines (or 61xx/6Cxx); error SWs carry no data; data never exceeds Ne.
// Checked for the persistent state: it changes only in an APDU that completed an ES10
// command able to make that change (EnableProfile for a profile's state, NotificationSent
// for a removed notification, ...), per the ISD-R's own record of processed functions.
// Replays: the episode containing --from-iteration is rerun from its start. The data of a
// valid download session depends on the eUICC's random challenge and keys: its mutation
// decisions replay, its bytes differ run to run.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApduFormatError, buildCommand, parseCommand, responseData, responseSw, SW } from '../../sim/apdu/apdu.ts';
import { segmentStoreData } from '../../sim/apdu/store-data.ts';
import { hexToBytes } from '../../sim/bytes.ts';
import { createEuicc, type Euicc } from '../../sim/euicc/euicc.ts';
import type { Es10FunctionName } from '../../sim/euicc/functions.ts';
import { install, profileWithIccid, rig, testIccid, TS48_ICCID } from '../../sim/euicc/testing/fixtures.ts';
import { TestLpa } from '../../sim/euicc/testing/test-lpa.ts';
import { TestSmdp } from '../../sim/euicc/testing/smdp-binder.ts';
import { encode } from '../../sim/rsp/der.ts';
import { bppSegmentsForLoading } from '../../sim/rsp/es8p.ts';
import { iccidToBytes } from '../../sim/rsp/iccid.ts';
import { codecs } from '../../sim/rsp/registry.ts';
import { samples } from '../../sim/rsp/testdata/samples.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { shortHex, Watchdog, WatchdogTimeout } from '../harness.ts';
import { INTERESTING_BYTES, mutateBytes, mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

export const EPISODE = 64;
const WATCHDOG_MS = 5000;
const DEEP_EVERY = 32;

const ISD_R = hexToBytes('A0000005591010FFFFFFFF8900000100');

/** ES10 functions that may change the persistent state, and what they may change. */
type Aspect = 'profiles' | 'enabled' | 'nickname' | 'notificationsAdded' | 'notificationsRemoved' | 'addresses' | 'bpp';
const MAY_CHANGE: Readonly<Record<Aspect, readonly Es10FunctionName[]>> = {
  profiles: ['DeleteProfile', 'eUICCMemoryReset', 'LoadBoundProfilePackage'],
  enabled: ['EnableProfile', 'DisableProfile', 'eUICCMemoryReset', 'DeleteProfile'],
  nickname: ['SetNickname'],
  notificationsAdded: ['EnableProfile', 'DisableProfile', 'DeleteProfile', 'LoadBoundProfilePackage'],
  notificationsRemoved: ['NotificationSent'],
  addresses: ['SetDefaultDpAddress', 'eUICCMemoryReset'],
  // the "BPP in progress" marker: set by an accepted ISCR, cleared when the BPP ends (or is
  // interrupted: any other ES10 function or a card reset, handled where it is checked)
  bpp: ['LoadBoundProfilePackage', 'CancelSession'],
};

interface Fingerprint {
  readonly profiles: ReadonlyMap<string, { state: string; nickname: string | undefined }>;
  readonly notifications: readonly number[];
  readonly lastSeq: number;
  readonly addresses: string;
  readonly bpp: string;
  readonly key: string;
}

function fingerprint(e: Euicc): Fingerprint {
  const s = e.state;
  const profiles = new Map(s.profiles().map((p) => [p.iccid, { state: p.state, nickname: p.nickname }]));
  const notifications = s.notifications().map((n) => n.seqNumber);
  const lastSeq = s.lastSeqNumber();
  const addresses = JSON.stringify(s.addresses());
  const m = s.bppInProgress();
  const bpp = m ? `${m.transactionId}/${m.bppCommandId}` : '';
  const key = JSON.stringify([[...profiles.entries()], notifications, lastSeq, addresses, bpp]);
  return { profiles, notifications, lastSeq, addresses, bpp, key };
}

/** Which aspects of the state differ between two fingerprints. */
export function changedAspects(a: Fingerprint, b: Fingerprint): Aspect[] {
  const out = new Set<Aspect>();
  for (const k of a.profiles.keys()) if (!b.profiles.has(k)) out.add('profiles');
  for (const k of b.profiles.keys()) if (!a.profiles.has(k)) out.add('profiles');
  for (const [k, v] of a.profiles) {
    const w = b.profiles.get(k);
    if (!w) continue;
    if (w.state !== v.state) out.add('enabled');
    if (w.nickname !== v.nickname) out.add('nickname');
  }
  const before = new Set(a.notifications);
  const after = new Set(b.notifications);
  for (const n of after) if (!before.has(n)) out.add('notificationsAdded');
  for (const n of before) if (!after.has(n)) out.add('notificationsRemoved');
  if (b.lastSeq !== a.lastSeq && !out.has('notificationsAdded')) out.add('notificationsAdded');
  if (a.addresses !== b.addresses) out.add('addresses');
  if (a.bpp !== b.bpp) out.add('bpp');
  return [...out];
}

// ---------------------------------------------------------------------------
// Corpus

const es10 = (name: string): Uint8Array => encode(codecs[name]!, samples[name]);
const enc = (name: string, value: unknown): Uint8Array => encode(codecs[name]!, value);

interface Es10Seed {
  readonly payload: Uint8Array;
  readonly weight: number;
  /** may change the persistent state when valid */
  readonly changes: boolean;
}

function es10Corpus(template: { enabled: string; disabled: string; seqNumbers: readonly number[] }): Es10Seed[] {
  const ro = (payload: Uint8Array, weight = 1): Es10Seed => ({ payload, weight, changes: false });
  const rw = (payload: Uint8Array, weight = 1): Es10Seed => ({ payload, weight, changes: true });
  const iccid = (s: string): Uint8Array => iccidToBytes(s);
  const unknownIccid = iccid(testIccid(99));
  return [
    ro(hexToBytes('BF3E035C015A'), 4),
    ro(es10('GetEuiccDataRequest')),
    ro(hexToBytes('BF2D00'), 3),
    ro(es10('ProfileInfoListRequest'), 2),
    ro(enc('ProfileInfoListRequest', { searchCriteria: { iccid: iccid(template.enabled) } }), 2),
    ro(enc('ProfileInfoListRequest', { searchCriteria: { profileClass: 2 }, tagList: hexToBytes('5A9F7090929F') }), 1),
    ro(hexToBytes('BF2000'), 2),
    ro(hexToBytes('BF2200'), 0.3),
    ro(hexToBytes('BF2E00'), 2),
    ro(hexToBytes('BF3C00'), 2),
    ro(hexToBytes('BF4300'), 1),
    ro(hexToBytes('BF2800'), 2),
    ro(es10('ListNotificationRequest'), 1),
    ro(hexToBytes('BF2B00'), 1),
    ro(es10('RetrieveNotificationsListRequest'), 1),
    ro(enc('RetrieveNotificationsListRequest', { searchCriteria: { seqNumber: template.seqNumbers[0] ?? 1 } }), 1),
    ro(es10('CancelSessionRequest'), 1),
    ro(es10('AuthenticateServerRequest'), 0.3),
    ro(es10('PrepareDownloadRequest'), 0.3),
    ro(es10('LoadCRLRequest'), 0.5),
    ro(es10('BoundProfilePackage'), 0.5),
    ro(es10('LpaeActivationRequest'), 0.3),
    // valid shapes that fail: unknown ICCID, wrong state, unknown sequence number
    ro(enc('EnableProfileRequest', { profileIdentifier: { iccid: unknownIccid }, refreshFlag: false }), 1),
    ro(enc('EnableProfileRequest', { profileIdentifier: { iccid: iccid(template.enabled) }, refreshFlag: true }), 1),
    ro(enc('DisableProfileRequest', { profileIdentifier: { iccid: iccid(template.disabled) }, refreshFlag: false }), 1),
    ro(enc('DeleteProfileRequest', { iccid: unknownIccid }), 1),
    ro(enc('SetNicknameRequest', { iccid: unknownIccid, profileNickname: 'x' }), 1),
    ro(enc('NotificationSentRequest', { seqNumber: 100_000 }), 1),
    // valid state-changing commands (episodes that allow state changes)
    rw(enc('EnableProfileRequest', { profileIdentifier: { iccid: iccid(template.disabled) }, refreshFlag: false })),
    rw(enc('DisableProfileRequest', { profileIdentifier: { iccid: iccid(template.enabled) }, refreshFlag: true })),
    rw(enc('DeleteProfileRequest', { iccid: iccid(template.disabled) })),
    rw(enc('SetNicknameRequest', { iccid: iccid(template.enabled), profileNickname: 'fuzz' })),
    rw(enc('NotificationSentRequest', { seqNumber: template.seqNumbers[0] ?? 1 })),
    rw(enc('SetDefaultDpAddressRequest', { defaultDpAddress: 'fuzz.example.com' })),
    rw(enc('EuiccMemoryResetRequest', { resetOptions: ['deleteOperationalProfiles'] }), 0.2),
  ];
}

/** Whole card commands (hex); CLA channel bits are set per channel when sent. */
const CARD_COMMANDS: readonly string[] = [
  '0070000001',
  '0070000000',
  '0070000100',
  '0070000300',
  '0070001400',
  '0070800100',
  '0070800000',
  '0070810000',
  '00A4040010A0000005591010FFFFFFFF890000010000',
  '00A4040010A0000005591010FFFFFFFF8900000100',
  '00A404000CA0000005591010FFFFFFFF00',
  '00A4040410A0000005591010FFFFFFFF890000020000',
  '00A4040007A000000087100200',
  '00A4040207A000000087100200',
  '00A4044010A0000005591010FFFFFFFF8900000100',
  '00A40004023F0000',
  '00A40004022FE200',
  '00A40004022F0000',
  '00A4000C027FFF',
  '00A40804047FFF6F0700',
  '00A40004026F0700',
  '00B000000A',
  '00B0000000',
  '00B0008100',
  '00B2010400',
  '00D6000001FF',
  '80F2000000',
  '80F2000C00',
  '80F2010000',
  '80AA000005A903830100',
  '801000000400000000',
  '00C0000000',
  '80C0000010',
  '80E29100',
  '80E2110001BF',
  '80E2000003BF2D00',
  '80E2910000',
  '00E2910003BF2D0000',
  '84E2910003BF2D0000',
  '90E2910003BF2D0000',
  '80CA005A00',
  '80E8000000',
  'FFA4040000',
  '00880000',
  '0000000000000100',
];

/** CLA for a logical channel (TS 102 221 10.1.1): 0-3 in b2-b1, 4-19 in the further coding. */
function withChannel(cla: number, ch: number): number {
  if (ch < 4) return (cla & 0xbc) | ch;
  return (cla & 0x80) | 0x40 | (ch - 4);
}

// ---------------------------------------------------------------------------
// The campaign

interface Template {
  readonly dir: string;
  readonly path: string;
  readonly enabled: string;
  readonly disabled: string;
  readonly seqNumbers: readonly number[];
  readonly deepUpp: Uint8Array;
}

/** Build the template state file: two profiles (one enabled), their notifications. */
async function buildTemplate(): Promise<Template> {
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-euicc-'));
  const path = join(dir, 'template.json');
  const r = await rig({ statePath: path });
  await install(r, TS48_ICCID);
  const second = testIccid(1);
  await install(r, second);
  await r.lpa.enable(TS48_ICCID);
  const seqNumbers = r.euicc.state.notifications().map((n) => n.seqNumber);
  await r.euicc.close();
  return { dir, path, enabled: TS48_ICCID, disabled: second, seqNumbers, deepUpp: profileWithIccid(testIccid(7)) };
}

class Target {
  euicc!: Euicc;
  baseline!: Fingerprint;
  readonly work: string;
  private templateKey = '';

  constructor(readonly template: Template) {
    this.work = join(template.dir, 'work.json');
  }

  async fresh(): Promise<void> {
    if (this.euicc) await this.euicc.close();
    copyFileSync(this.template.path, this.work);
    // identities and CIs of the first card are reused: parsing the SGP.26 material is most of createEuicc's time
    const reuse = this.euicc ? { identity: { identities: this.euicc.identities }, trustedCis: this.euicc.options.trustedCis } : {};
    this.euicc = await createEuicc({ statePath: this.work, card: { internalErrorPolicy: 'throw' }, ...reuse });
    this.baseline = fingerprint(this.euicc);
    this.templateKey ||= this.baseline.key;
  }

  /** Start an episode: warm reset; restore the template state if an earlier episode changed it. */
  async startEpisode(): Promise<void> {
    const fp = fingerprint(this.euicc);
    if (fp.key !== this.templateKey) await this.fresh();
    else {
      await this.euicc.reset();
      this.baseline = fp;
    }
    this.euicc.isdr.calls.splice(0);
  }
}

const ALLOWED_SW = new Set<number>(Object.values(SW));

/** The R-APDU checks; returns a description of the first problem, or undefined. */
export function checkRapdu(capdu: Uint8Array, rapdu: Uint8Array): string | undefined {
  if (!(rapdu instanceof Uint8Array)) return 'transmit resolved with something that is not bytes';
  if (rapdu.length < 2) return `R-APDU of ${rapdu.length} byte(s) has no SW`;
  const sw = responseSw(rapdu);
  const sw1 = sw >> 8;
  const dataLength = rapdu.length - 2;
  if (!ALLOWED_SW.has(sw) && sw1 !== 0x61 && sw1 !== 0x6c) return `SW ${sw.toString(16).toUpperCase()} is not defined in sim/apdu/sw.ts`;
  if (sw1 >= 0x64 && sw1 <= 0x6f && dataLength > 0) return `error SW ${sw.toString(16).toUpperCase()} with ${dataLength} data bytes`;
  let ne: number | undefined;
  try {
    ne = parseCommand(capdu).le;
  } catch (e) {
    if (!(e instanceof ApduFormatError)) throw e;
    // malformed C-APDU (the card answered 6700): it has no Ne, so no data is allowed
    ne = undefined;
  }
  if (dataLength > (ne ?? 0)) return `${dataLength} data bytes for Ne=${ne ?? 'absent'}`;
  return undefined;
}

interface EpisodeState {
  channel: number;
  lastSw: number;
  iteration: number;
  readonly end: number;
  /** persistent state after the last check */
  last: Fingerprint;
  /** warm reset of the card in the middle of the episode */
  reset(): Promise<void>;
}

export const euiccCampaign: Campaign = {
  name: 'euicc',
  description: 'APDUs (valid corpus, mutated ES10 STORE DATA chains, card commands, random) into the in-process software eUICC',
  defaultIterations: 1_000_000,
  weight: 200,
  episodeLength: EPISODE,
  unit: 'APDU',
  async run(ctx) {
    const template = await buildTemplate();
    const target = new Target(template);
    const watchdog = new Watchdog(WATCHDOG_MS);
    try {
      await target.fresh();
      const corpus = es10Corpus(template);
      const readOnly = corpus.filter((c) => !c.changes);
      let stateChangingCalls = 0;
      for (let episode = ctx.from / EPISODE; episode * EPISODE < ctx.to; episode++) {
        if (Date.now() > ctx.deadline) break;
        const rng = Rng.for(ctx.seed, 'euicc', episode);
        await target.startEpisode();
        const allowChanges = rng.chance(1 / 16);
        const seeds = allowChanges ? corpus : readOnly;
        const st: EpisodeState = {
          channel: 0,
          lastSw: 0x9000,
          iteration: episode * EPISODE,
          end: (episode + 1) * EPISODE,
          last: target.baseline,
          async reset() {
            await target.euicc.reset();
            st.channel = 0;
            st.lastSw = 0x9000;
            // a reset interrupts a BPP in progress (SGP.22 5.7.6): marker cleared, interruption notification added
            const now = fingerprint(target.euicc);
            const aspects = changedAspects(st.last, now).filter((a) => !(st.last.bpp !== '' && (a === 'bpp' || a === 'notificationsAdded')));
            if (aspects.length) ctx.stats.violation(st.iteration - 1, `persistent state changed (${aspects.join(', ')}) by a card reset`);
            st.last = now;
          },
        };

        const send = async (capdu: Uint8Array): Promise<Uint8Array | undefined> => {
          if (st.iteration >= st.end) return undefined;
          const i = st.iteration++;
          ctx.heartbeat(i);
          ctx.stats.count();
          const calls = target.euicc.isdr.calls.length;
          let rapdu: Uint8Array;
          try {
            rapdu = await watchdog.run(target.euicc.transmit(capdu));
          } catch (e) {
            if (e instanceof WatchdogTimeout) {
              ctx.stats.hang(i, `transmit of ${shortHex(capdu)} not answered within ${e.ms} ms`, shortHex(capdu));
              await target.fresh();
              st.last = target.baseline;
            } else ctx.stats.crash(i, e, shortHex(capdu));
            st.lastSw = 0x6f00;
            return undefined;
          }
          const bad = checkRapdu(capdu, rapdu);
          if (bad) ctx.stats.violation(i, bad, `${shortHex(capdu)} -> ${shortHex(rapdu)}`);
          const sw = rapdu.length >= 2 ? responseSw(rapdu) : 0;
          st.lastSw = sw;
          if (sw === 0x9000 || sw >> 8 === 0x61) ctx.stats.accept();
          else ctx.stats.reject(`SW ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
          // persistent state: changes only where a processed ES10 function explains them
          const done = target.euicc.isdr.calls.slice(calls).map((c) => c.function);
          if (done.length) {
            const now = fingerprint(target.euicc);
            if (now.key !== st.last.key) {
              const aspects = changedAspects(st.last, now);
              // any ES10 function but LoadBoundProfilePackage interrupts a BPP in progress: the
              // marker goes and an installFailedDueToInterruption notification comes (5.7.6)
              const interrupted = st.last.bpp !== '';
              const unexplained = aspects.filter((a) => !(interrupted && (a === 'bpp' || a === 'notificationsAdded')) && !done.some((f) => MAY_CHANGE[a].includes(f)));
              if (unexplained.length) ctx.stats.violation(i, `persistent state changed (${unexplained.join(', ')}) by ${done.join(', ')}`, shortHex(capdu));
              if (!allowChanges && !aspects.every((a) => a === 'bpp')) stateChangingCalls++;
              st.last = now;
            }
          }
          return rapdu;
        };

        if (rng.chance(1 / DEEP_EVERY)) await deepEpisode(ctx, rng, target, st, send);
        else if (rng.chance(0.8)) {
          // most episodes start where an LPA starts: the ISD-R selected on a logical or the basic channel
          if (rng.chance(0.6)) {
            const r = await send(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
            if (r && r.length === 3 && responseSw(r) === 0x9000) st.channel = r[0]!;
          }
          await send(buildCommand({ cla: withChannel(0x00, st.channel), ins: 0xa4, p1: 0x04, p2: 0x00, data: ISD_R, le: 256 }));
        }
        while (st.iteration < st.end) await action(rng, st, seeds, send);
        // nothing may change the state outside the APDUs checked above
        const end = fingerprint(target.euicc);
        if (end.key !== st.last.key) ctx.stats.violation(st.end - 1, `persistent state changed (${changedAspects(st.last, end).join(', ')}) with no ES10 function processed`);
      }
      if (stateChangingCalls) ctx.note(`${stateChangingCalls} mutated command(s) in read-only episodes were valid state-changing ES10 commands (accepted: explained by the function processed)`);
    } finally {
      watchdog.stop();
      if (target.euicc) await target.euicc.close();
      rmSync(template.dir, { recursive: true, force: true });
    }
  },
};

type Send = (capdu: Uint8Array) => Promise<Uint8Array | undefined>;

/** One generator step: a card command, an ES10 chain, a GET RESPONSE or a random APDU. */
async function action(rng: Rng, st: EpisodeState, seeds: readonly Es10Seed[], send: Send): Promise<void> {
  // the T=0 procedure as an LPA runs it, most of the time
  if (st.lastSw >> 8 === 0x61 && rng.chance(0.8)) {
    const le = rng.chance(0.9) ? st.lastSw & 0xff : rng.pick([1, 0, 0xff]);
    await send(Uint8Array.of(withChannel(rng.chance(0.5) ? 0x00 : 0x80, st.channel), 0xc0, 0x00, 0x00, le));
    return;
  }
  if (st.lastSw >> 8 === 0x6c && rng.chance(0.5)) {
    await send(Uint8Array.of(withChannel(0x00, st.channel), 0xb0, 0x00, 0x00, st.lastSw & 0xff));
    return;
  }
  const kind = rng.weighted<'card' | 'es10' | 'random' | 'open' | 'reset'>([
    ['es10', 10],
    ['card', 5],
    ['random', 3],
    ['open', 1],
    ['reset', 0.2],
  ]);
  switch (kind) {
    case 'open': {
      // MANAGE CHANNEL open + SELECT ISD-R: where an LPA starts
      const r = await send(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
      if (r && r.length === 3 && responseSw(r) === 0x9000) st.channel = r[0]!;
      await send(buildCommand({ cla: withChannel(0x00, st.channel), ins: 0xa4, p1: 0x04, p2: 0x00, data: ISD_R, le: 256 }));
      return;
    }
    case 'reset':
      // a warm reset in the middle of an episode (as a modem restart causes); not an APDU
      await st.reset();
      return;
    case 'card': {
      let c = hexToBytes(rng.pick(CARD_COMMANDS));
      c[0] = withChannel(c[0]!, rng.chance(0.8) ? st.channel : rng.int(20));
      if (rng.chance(0.4)) c = mutateBytes(rng, c, undefined, 3, 300);
      await send(c);
      return;
    }
    case 'random': {
      await send(randomApdu(rng, st.channel));
      return;
    }
    case 'es10': {
      const seed = rng.weighted(seeds.map((s) => [s, s.weight] as const));
      let payload = seed.payload;
      const mode = rng.weighted<'valid' | 'der' | 'bytes' | 'blocks'>([
        ['valid', 3],
        ['der', 5],
        ['bytes', 2],
        ['blocks', 2],
      ]);
      if (mode === 'der') payload = mutateDer(rng, payload, rng.pick(seeds).payload, 3).bytes;
      if (mode === 'bytes') payload = mutateBytes(rng, payload, rng.pick(seeds).payload, 4, 4096);
      if (payload.length === 0) payload = Uint8Array.of(rng.pick(INTERESTING_BYTES));
      await sendChain(rng, st, payload, mode === 'blocks', send);
      return;
    }
  }
}

/** STORE DATA blocks of `payload` on the current channel; optionally with damaged blocks. */
async function sendChain(rng: Rng, st: EpisodeState, payload: Uint8Array, damage: boolean, send: Send): Promise<void> {
  const blockSize = rng.weighted<number>([
    [120, 4],
    [255, 3],
    [rng.range(1, 255), 2],
    [1, 0.2],
  ]);
  let blocks = segmentStoreData(payload, { blockSize, channel: st.channel, leOnLast: rng.chance(0.7) });
  if (damage) {
    blocks = blocks.map((b) => b.slice());
    const n = 1 + rng.size(2);
    for (let k = 0; k < n && blocks.length > 0; k++) {
      const i = rng.int(blocks.length);
      const b = blocks[i]!;
      switch (rng.int(6)) {
        case 0:
          b[2] = rng.pick([0x00, 0x01, 0x11, 0x91, 0x81, 0xff]); // P1
          break;
        case 1:
          b[3] = (b[3]! + rng.range(-2, 2)) & 0xff; // block number
          break;
        case 2:
          blocks.splice(i, 1);
          break;
        case 3:
          blocks.splice(i, 0, b.slice());
          break;
        case 4:
          b[0] = withChannel(rng.pick([0x80, 0x00, 0x84, 0xa0, 0xc0, 0x90]), rng.int(4));
          break;
        default:
          blocks[i] = mutateBytes(rng, b, undefined, 2, 300);
      }
    }
  }
  for (const b of blocks) {
    const r = await send(b);
    if (!r) return;
    // an LPA stops a chain at the first error, a fuzzer sometimes does not
    if (responseSw(r) !== 0x9000 && responseSw(r) >> 8 !== 0x61 && rng.chance(0.7)) return;
    if (responseSw(r) >> 8 === 0x61 && b !== blocks[blocks.length - 1]) return;
  }
  // collect a long response like an LPA
  while (st.lastSw >> 8 === 0x61 && st.iteration < st.end && rng.chance(0.9)) {
    const r = await send(Uint8Array.of(withChannel(0x80, st.channel), 0xc0, 0x00, 0x00, st.lastSw & 0xff));
    if (!r) return;
  }
}

/** A random C-APDU: interesting header bytes, all lengths and forms. */
export function randomApdu(rng: Rng, channel: number): Uint8Array {
  const cla = rng.chance(0.7) ? withChannel(rng.pick([0x00, 0x80, 0x80, 0xa0, 0x01, 0x0c, 0x10, 0x40, 0xc0, 0xe0, 0xff]), rng.chance(0.8) ? channel : rng.int(20)) : rng.byte();
  const ins = rng.chance(0.7) ? rng.pick([0xa4, 0xb0, 0xb2, 0xc0, 0xe2, 0x70, 0xf2, 0xaa, 0x10, 0xca, 0x88, 0xd6, 0xdc, 0x12, 0x20, 0x2c, 0x04, 0x44, 0xe4, 0xe6, 0xe8, 0x50, 0x82, 0x84, 0x00, 0x61, 0x6c, 0x90, 0x91, 0xff]) : rng.byte();
  const p1 = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.byte();
  const p2 = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.byte();
  const head = [cla, ins, p1, p2];
  switch (rng.int(8)) {
    case 0:
      return Uint8Array.from(head);
    case 1:
      return Uint8Array.of(...head, rng.byte());
    case 2: {
      const n = rng.range(1, 255);
      return Uint8Array.of(...head, n, ...rng.bytes(n));
    }
    case 3: {
      const n = rng.range(1, 255);
      return Uint8Array.of(...head, n, ...rng.bytes(n), rng.byte());
    }
    case 4: {
      // extended forms
      const n = rng.range(1, 600);
      return Uint8Array.of(...head, 0, n >> 8, n & 0xff, ...rng.bytes(n), ...(rng.chance(0.5) ? [rng.byte(), rng.byte()] : []));
    }
    case 5:
      return Uint8Array.of(...head, 0, rng.byte(), rng.byte());
    case 6:
      // length byte that matches no case
      return Uint8Array.of(...head, rng.range(1, 255), ...rng.bytes(rng.int(8)));
    default:
      return rng.bytes(rng.int(6));
  }
}

/**
 * A valid download session (as the test LPA runs it, not counted as fuzz iterations) and
 * then the Bound Profile Package, sequence by sequence, with mutations.
 */
async function deepEpisode(ctx: CampaignContext, rng: Rng, target: Target, st: EpisodeState, send: Send): Promise<void> {
  const lpa = new TestLpa(target.euicc, { blockSize: 255 });
  const smdp = new TestSmdp({ curve: rng.chance(0.5) ? 'P-256' : 'brainpoolP256r1' });
  const mode = rng.weighted<'bpp' | 'authenticate' | 'prepare'>([
    ['bpp', 2],
    ['authenticate', 1],
    ['prepare', 1],
  ]);
  if (mode !== 'bpp') {
    // AuthenticateServer (or PrepareDownload after a valid AuthenticateServer) with a
    // mutated SM-DP+ certificate or a mutated request: the eUICC's certificate paths
    let payload: Uint8Array;
    try {
      await lpa.open();
      const req = smdp.authenticateServerRequest(await lpa.challenge(), mode === 'authenticate' && rng.chance(0.7) ? { serverCertificate: mutateDer(rng, smdp.dpauth.certificate, undefined, 2).bytes } : {});
      if (mode === 'authenticate') payload = req.der;
      else {
        const auth = smdp.verifyAuthenticateResponse(req, await lpa.es10(req.der));
        payload = smdp.prepareDownloadRequest(auth, rng.chance(0.7) ? { smdpCertificate: mutateDer(rng, smdp.dppb.certificate, undefined, 2).bytes } : {});
      }
    } catch (e) {
      ctx.stats.crash(st.iteration, e, `valid ${mode === 'authenticate' ? 'GetEUICCChallenge' : 'AuthenticateServer'} before the mutated ${mode}`);
      return;
    }
    st.channel = lpa.channel;
    const now = fingerprint(target.euicc);
    if (now.key !== st.last.key) ctx.stats.violation(st.iteration, `persistent state changed (${changedAspects(st.last, now).join(', ')}) during a valid GetEUICCChallenge/AuthenticateServer`);
    st.last = now;
    if (rng.chance(0.3)) payload = mutateDer(rng, payload, undefined, 2).bytes;
    await sendChain(rng, st, payload.length ? payload : Uint8Array.of(0xbf, 0x38, 0x00), false, send);
    return;
  }
  let bpp: Uint8Array;
  try {
    await lpa.open();
    const { auth, prepared } = await lpa.authenticate(smdp);
    bpp = smdp.bind(auth, prepared, target.template.deepUpp, { metadata: { iccid: testIccid(7), profileClass: rng.pick([0, 1, 2]) } }).bpp;
  } catch (e) {
    // the valid prefix is not fuzzed: its failure is a finding of its own
    ctx.stats.crash(st.iteration, e, 'valid download session (GetEUICCChallenge/AuthenticateServer/PrepareDownload)');
    return;
  }
  st.channel = lpa.channel;
  // the valid prefix (GetEUICCChallenge, AuthenticateServer, PrepareDownload) keeps the persistent state
  const now = fingerprint(target.euicc);
  if (now.key !== st.last.key) ctx.stats.violation(st.iteration, `persistent state changed (${changedAspects(st.last, now).join(', ')}) during a valid AuthenticateServer/PrepareDownload`);
  st.last = now;
  const segments = bppSegmentsForLoading(bpp).map((s) => s.bytes);
  const victim = rng.int(segments.length);
  for (let k = 0; k < segments.length && st.iteration < st.end; k++) {
    let seg = segments[k]!;
    if (k === victim || rng.chance(0.05)) {
      seg = rng.chance(0.7) ? mutateDer(rng, seg, undefined, 2).bytes : mutateBytes(rng, seg, undefined, 3, 4096);
      if (seg.length === 0) seg = Uint8Array.of(0x86, 0x00);
    }
    if (rng.chance(0.03)) continue; // a sequence lost
    const blocks = segmentStoreData(seg, { blockSize: 255, channel: st.channel });
    let stop = false;
    for (const b of blocks) {
      const r = await send(b);
      if (!r) return;
      const sw = responseSw(r);
      if (sw >> 8 === 0x61) {
        let rr: Uint8Array | undefined = r;
        while (rr && responseSw(rr) >> 8 === 0x61 && st.iteration < st.end) rr = await send(Uint8Array.of(withChannel(0x80, st.channel), 0xc0, 0, 0, responseSw(rr) & 0xff));
        stop = true; // a sequence answered data (the PIR): the BPP ended
      } else if (sw !== 0x9000) stop = rng.chance(0.8);
      else if (responseData(r).length > 0) stop = true;
      if (stop) break;
    }
    if (stop) break;
  }
}

