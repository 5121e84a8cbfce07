// The ISD-R of the software eUICC (SGP.22 2.4.2 ISD-R, 5.7 ES10 over STORE DATA;
// GlobalPlatform 11.11): a StoreDataApplet that receives each complete ES10 command,
// dispatches it by its top-level tag to the ES10a/b/c modules, answers its FCI with
// the SVN (ISDRProprietaryApplicationTemplate 'E0'), and ends the RSP session on a
// card reset (a BPP in progress is then reported as interrupted, 5.7.6).

// APDU-level choices (documented):
// - an ES10 command whose DER does not decode (or that is not one TLV) -> SW 6A80;
// - a command whose top-level tag is no ES10 function -> SW 6A88 (referenced data not
//   found); it is not processed and does not interrupt a BPP in progress;
// - BPP sequences without a prepared session or after the BPP ended -> SW 6985;
// - any other ES10 function during a BPP (CancelSession included) interrupts it first.
import { SW, StatusWordError } from '../apdu/sw.ts';
import { ISD_R_AID, isdrFci, StoreDataApplet, type ChannelContext } from './card/applet.ts';
import type { Es10Env } from './context.ts';
import { es10FunctionOfTag, leadingTag, type Es10FunctionName } from './functions.ts';
import { versionOf } from './options.ts';
import * as es10a from './es10a.ts';
import * as es10b from './es10b.ts';
import * as es10c from './es10c.ts';

type Handler = (env: Es10Env, command: Uint8Array) => Uint8Array;

export const ES10_HANDLERS: Record<Es10FunctionName, Handler> = {
  GetEuiccConfiguredAddresses: es10a.getEuiccConfiguredAddresses,
  SetDefaultDpAddress: es10a.setDefaultDpAddress,
  PrepareDownload: es10b.prepareDownload,
  LoadBoundProfilePackage: es10b.loadBoundProfilePackage,
  GetEUICCChallenge: es10b.getEuiccChallenge,
  GetEUICCInfo1: es10b.getEuiccInfo1,
  GetEUICCInfo2: es10b.getEuiccInfo2,
  ListNotification: es10b.listNotification,
  RetrieveNotificationsList: es10b.retrieveNotificationsList,
  NotificationSent: es10b.notificationSent,
  LoadCRL: es10b.loadCrl,
  AuthenticateServer: es10b.authenticateServer,
  CancelSession: es10b.cancelSession,
  GetRAT: es10b.getRat,
  GetProfilesInfo: es10c.getProfilesInfo,
  EnableProfile: es10c.enableProfile,
  DisableProfile: es10c.disableProfile,
  DeleteProfile: es10c.deleteProfile,
  eUICCMemoryReset: es10c.euiccMemoryReset,
  GetEID: es10c.getEid,
  SetNickname: es10c.setNickname,
};

export interface Es10CallRecord {
  readonly function: Es10FunctionName;
  readonly channel: number;
}

export class IsdR extends StoreDataApplet {
  /** bumped by every card reset: a command delayed across a reset is not processed */
  private generation = 0;
  /** the ES10 functions processed, in order (for traces and tests) */
  readonly calls: Es10CallRecord[] = [];

  constructor(private readonly env: Es10Env) {
    super(ISD_R_AID);
  }

  protected override fci(_ctx: ChannelContext): Uint8Array {
    return isdrFci(versionOf(this.env.ctx.options.svn), this.aid);
  }

  /** Card reset / power-off / removal: drop the chains and the RSP session (a BPP in progress is interrupted). */
  override reset(): void {
    super.reset();
    this.generation++;
    this.env.download.interrupt();
  }

  protected async handleStoreData(command: Uint8Array, channel: number): Promise<Uint8Array> {
    const tag = leadingTag(command);
    if (tag === undefined) throw new StatusWordError(SW.INCORRECT_DATA, 'STORE DATA command does not start with a tag');
    const name = es10FunctionOfTag(tag);
    if (!name) throw new StatusWordError(SW.REFERENCED_DATA_NOT_FOUND, `no ES10 function has tag ${tag.toString(16).toUpperCase()}`);
    const generation = this.generation;
    const fault = this.env.ctx.faults.beforeFunction(name);
    if (fault.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (generation !== this.generation) throw new StatusWordError(SW.TECHNICAL_PROBLEM, `${name} interrupted by a card reset`);
    }
    if (fault.sw !== undefined) throw new StatusWordError(fault.sw, `${name}: forced by fault injection`);
    if (name !== 'LoadBoundProfilePackage' && name !== 'CancelSession' && this.env.download.bppInProgress) this.env.download.interrupt();
    this.calls.push({ function: name, channel });
    return ES10_HANDLERS[name](this.env, command);
  }
}
