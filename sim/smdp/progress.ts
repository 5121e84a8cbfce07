// ES2+.HandleDownloadProgressInfo (SGP.22 5.3.5): the SM-DP+ tells the operator how a
// download order progresses. JSON body as sim/rsp/json.ts HandleDownloadProgressInfoRequestJson
// (header, eid, iccid, profileType, timestamp, notificationPointId, notificationPointStatus,
// resultData). Calls are queued and sent in order, one at a time; each outcome is kept for
// inspection (the last MAX_KEPT) and a failed delivery is logged, never retried. At most
// MAX_QUEUED calls wait: beyond that (a slow operator under a flood of notifications) new
// ones are dropped and counted, so the queue cannot grow without bound.
import { randomUUID } from 'node:crypto';
import type { FunctionExecutionStatus, HandleDownloadProgressInfoRequestJson } from '../rsp/json.ts';
import { ES2P_PATHS } from '../rsp/json.ts';
import { postJson, type PostJsonOptions } from './https-json.ts';

/**
 * notificationPointId values: 1-4 as SGP.22 5.3.5 lists them; 5 and 6 are bridgelab's
 * numbering for a cancelled session and for other (enable/disable/delete) notifications.
 */
export const NOTIFICATION_POINT = {
  eligibilityAndRetryLimitCheck: 1,
  confirmationFailure: 2,
  bppDownload: 3,
  bppInstallation: 4,
  sessionCancelled: 5,
  otherNotification: 6,
} as const;
export type NotificationPointName = keyof typeof NOTIFICATION_POINT;

export interface ProgressEvent {
  point: NotificationPointName;
  iccid: string;
  eid?: string;
  profileType: string;
  status: FunctionExecutionStatus;
  /** base64 of the notification (PIR or other) when there is one */
  resultData?: string;
}

export interface ProgressDelivery {
  body: HandleDownloadProgressInfoRequestJson;
  url: string;
  /** HTTP status, or the error message */
  outcome: { status: number } | { error: string };
}

/** outcomes kept for inspection */
const MAX_KEPT = 1000;
/** calls waiting to be sent */
const MAX_QUEUED = 1000;

export class ProgressNotifier {
  readonly deliveries: ProgressDelivery[] = [];
  /** calls dropped because MAX_QUEUED were waiting */
  dropped = 0;
  #queue: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(
    private readonly url: string | undefined,
    private readonly requester: string,
    private readonly tls: PostJsonOptions,
    private readonly warn: (message: string) => void,
    private readonly now: () => number,
  ) {}

  /** Queue one handleDownloadProgressInfo call (no-op without an operator URL). */
  notify(e: ProgressEvent): void {
    if (this.url === undefined) return;
    const target = /handleDownloadProgressInfo$/.test(new URL(this.url).pathname) ? this.url : new URL(ES2P_PATHS.handleDownloadProgressInfo, this.url).toString();
    const body: HandleDownloadProgressInfoRequestJson = {
      header: { functionRequesterIdentifier: this.requester, functionCallIdentifier: randomUUID() },
      iccid: e.iccid,
      profileType: e.profileType,
      timestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      notificationPointId: NOTIFICATION_POINT[e.point],
      notificationPointStatus: e.status,
    };
    if (e.eid !== undefined) body.eid = e.eid;
    if (e.resultData !== undefined) body.resultData = e.resultData;
    if (this.#waiting >= MAX_QUEUED) {
      this.dropped++;
      if (Number.isInteger(Math.log10(this.dropped))) this.warn(`handleDownloadProgressInfo: ${MAX_QUEUED} calls waiting for ${target}; ${this.dropped} dropped so far`);
      return;
    }
    this.#waiting++;
    this.#queue = this.#queue.then(async () => {
      try {
        const reply = await postJson(target, body, this.tls);
        this.#keep({ body, url: target, outcome: { status: reply.status } });
        if (reply.status !== 204 && reply.status !== 200) this.warn(`handleDownloadProgressInfo to ${target}: HTTP ${reply.status}`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.#keep({ body, url: target, outcome: { error: message } });
        this.warn(`handleDownloadProgressInfo to ${target} failed: ${message}`);
      } finally {
        this.#waiting--;
      }
    });
  }

  #keep(d: ProgressDelivery): void {
    this.deliveries.push(d);
    if (this.deliveries.length > MAX_KEPT) this.deliveries.splice(0, this.deliveries.length - MAX_KEPT);
  }

  /** Resolves when every queued call has been attempted. */
  flush(): Promise<void> {
    return this.#queue;
  }
}
