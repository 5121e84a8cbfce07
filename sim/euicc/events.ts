// Events the software eUICC reports to whoever drives it (fake modem, suites): the
// REFRESH an EnableProfile/DisableProfile with refreshFlag asks for (SGP.22 5.7.16-
// 5.7.17, ETSI TS 102 223 6.4.7 "eUICC Profile State Change"), profile life-cycle
// changes (SGP.22 3.2) and pending notifications added (3.5). Listeners run after the
// change was persisted; a listener's exception is kept in `listenerErrors`, never
// reaches the card.
import type { NotificationKind } from './state.ts';
import type { DerFinding } from '../rsp/der.ts';

export interface RefreshEvent {
  /** REFRESH mode the eUICC would send: 'eUICC Profile State Change' */
  readonly mode: 'euiccProfileStateChange';
  /** 'memoryReset': eUICCMemoryReset deleted the enabled profile */
  readonly operation: 'enable' | 'disable' | 'memoryReset';
  /** ICCID of the profile the operation targeted */
  readonly iccid: string;
}

export type ProfileChange = 'installed' | 'enabled' | 'disabled' | 'deleted' | 'nickname';

export interface ProfileEvent {
  readonly change: ProfileChange;
  readonly iccid: string;
  readonly isdpAid: string;
  /** what caused it */
  readonly cause: 'download' | 'es10c' | 'memoryReset';
}

export interface NotificationAddedEvent {
  readonly seqNumber: number;
  readonly kind: NotificationKind;
  readonly address: string;
  readonly iccid?: string;
}

/** A peer's BER that is not DER, accepted (options.peerEncoding 'tolerant'; X.690 10-11). */
export interface FindingEvent {
  /** where it came from, e.g. 'ES8+.StoreMetadata' */
  readonly source: string;
  readonly finding: DerFinding;
}

export interface EuiccEventMap {
  refresh: RefreshEvent;
  profile: ProfileEvent;
  notification: NotificationAddedEvent;
  finding: FindingEvent;
}

export type EuiccEventName = keyof EuiccEventMap;
type Listener<K extends EuiccEventName> = (event: EuiccEventMap[K]) => void;

export class EuiccEvents {
  private readonly listeners: { [K in EuiccEventName]: Set<Listener<K>> } = { refresh: new Set(), profile: new Set(), notification: new Set(), finding: new Set() };
  /** exceptions thrown by listeners (they never reach the card) */
  readonly listenerErrors: unknown[] = [];

  /** Subscribe; returns the unsubscribe function. */
  on<K extends EuiccEventName>(name: K, listener: Listener<K>): () => void {
    this.listeners[name].add(listener);
    return () => this.off(name, listener);
  }

  off<K extends EuiccEventName>(name: K, listener: Listener<K>): void {
    this.listeners[name].delete(listener);
  }

  /** every event of `name` emitted from now on, collected (test helper) */
  record<K extends EuiccEventName>(name: K): EuiccEventMap[K][] {
    const out: EuiccEventMap[K][] = [];
    this.on(name, (e) => out.push(e));
    return out;
  }

  emit<K extends EuiccEventName>(name: K, event: EuiccEventMap[K]): void {
    for (const l of [...this.listeners[name]]) {
      try {
        l(event);
      } catch (e) {
        this.listenerErrors.push(e);
      }
    }
  }
}
