// SGP.22 3.1.6 profile states: the transition table is the only way states change.
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, nextState, PROFILE_STATES, PROFILE_TRANSITIONS, transition, type ProfileEvent } from './inventory-state.ts';
import { iccidFor, imsiFor } from './inventory.ts';
import { isValidIccid } from '../rsp/iccid.ts';

const EVENTS: ProfileEvent[] = [
  'downloadOrder',
  'downloadOrderWithEid',
  'confirmOrder',
  'confirmOrderAndRelease',
  'releaseProfile',
  'cancelOrderAvailable',
  'cancelOrderUnavailable',
  'bppDownloaded',
  'installSuccess',
  'installFailure',
  'sessionAborted',
];

describe('profile state machine', () => {
  it('follows the download path Available -> Allocated/Linked -> Confirmed -> Released -> Downloaded -> Installed', () => {
    expect(transition('Available', 'downloadOrder', 'x')).toBe('Allocated');
    expect(transition('Available', 'downloadOrderWithEid', 'x')).toBe('Linked');
    expect(transition('Linked', 'confirmOrder', 'x')).toBe('Confirmed');
    expect(transition('Allocated', 'confirmOrderAndRelease', 'x')).toBe('Released');
    expect(transition('Confirmed', 'releaseProfile', 'x')).toBe('Released');
    expect(transition('Released', 'bppDownloaded', 'x')).toBe('Downloaded');
    expect(transition('Downloaded', 'installSuccess', 'x')).toBe('Installed');
    expect(transition('Downloaded', 'installFailure', 'x')).toBe('Error');
  });

  it('refuses every other event with IllegalTransitionError naming state and event', () => {
    let refused = 0;
    for (const s of PROFILE_STATES)
      for (const e of EVENTS) {
        if (nextState(s, e) !== undefined) continue;
        refused++;
        expect(() => transition(s, e, '8900')).toThrow(IllegalTransitionError);
      }
    expect(refused).toBeGreaterThan(70);
    expect(() => transition('Installed', 'cancelOrderAvailable', '8900')).toThrow("profile 8900: 'cancelOrderAvailable' is not allowed in state Installed");
  });

  it('Installed and Unavailable are final; Error only leaves through cancelOrder', () => {
    expect(PROFILE_TRANSITIONS.Installed).toEqual({});
    expect(PROFILE_TRANSITIONS.Unavailable).toEqual({});
    expect(Object.keys(PROFILE_TRANSITIONS.Error).sort()).toEqual(['cancelOrderAvailable', 'cancelOrderUnavailable']);
    for (const s of PROFILE_STATES) for (const to of Object.values(PROFILE_TRANSITIONS[s])) expect(PROFILE_STATES).toContain(to);
  });
});

describe('inventory identities', () => {
  it('ICCIDs are 20 digits with a Luhn digit, IMSIs 15 digits on the test network, both distinct per serial', () => {
    const a = iccidFor('0042', 1);
    const b = iccidFor('0042', 2);
    expect(a).toMatch(/^\d{20}$/);
    expect(isValidIccid(a) && isValidIccid(b)).toBe(true);
    expect(a).not.toBe(b);
    expect(imsiFor('0042', 1)).toBe('001010040000001');
    expect(iccidFor('0043', 1)).not.toBe(a);
  });
});
