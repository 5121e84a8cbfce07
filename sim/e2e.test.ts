// The provisioning triangle end to end, all over real loopback HTTPS (SGP.22 3.1.3
// download, 3.2 local management, 3.3 notifications): the test SM-DP+ (ES2+, ES9+,
// SM-DS), the test LPA, and the software eUICC behind its APDU interface. Nothing
// here is simulated beyond what the rig itself simulates; the bridge path is covered
// by the certify suites.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmdp, type SmdpServer } from './smdp/index.ts';
import { createEuicc, type Euicc } from './euicc/euicc.ts';
import { Lpa } from './lpa/flows.ts';
import { Es9Error, EuiccResultError } from './lpa/errors.ts';

describe('provisioning end to end over loopback HTTPS', () => {
  let dir: string;
  let smdp: SmdpServer;
  let euicc: Euicc;
  let lpa: Lpa;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-e2e-'));
    smdp = await startSmdp({ dataDir: join(dir, 'smdp'), port: 0 });
    euicc = await createEuicc({ statePath: join(dir, 'euicc.json'), defaultDpAddress: smdp.address, rootDsAddress: smdp.smdsAddress });
    lpa = await Lpa.open(euicc, { http: { ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port } } });
  });

  afterEach(async () => {
    await lpa.es10.close().catch(() => undefined);
    await euicc.close();
    await smdp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = (iccid: string) => smdp.inventory.get(iccid)?.state;

  it('ES2+ order -> activation code -> download -> install notification -> Installed', async () => {
    const order = smdp.es2.order({ profileType: 'TS48v2_SAIP2.3_NoBERTLV' });
    expect(state(order.iccid)).toBe('Released');
    const result = await lpa.downloadProfile(order.activationCode);
    expect(result.iccid).toBe(order.iccid);
    expect(result.notification?.error).toBeUndefined();
    expect(euicc.state.profile(order.iccid)).toMatchObject({ state: 'disabled', profileType: 'GSMA Generic eUICC Test Profile' });
    expect(state(order.iccid)).toBe('Installed');
    expect(euicc.state.notifications()).toEqual([]);
    expect(smdp.state.notifications().filter((n) => n.iccid === order.iccid).map((n) => [n.kind, n.accepted])).toEqual([['profileInstallationResult', true]]);
  });

  it('with a confirmation code: right, wrong then right, and retries exhausted', async () => {
    const good = smdp.es2.order({ confirmationCode: '4711' });
    await lpa.downloadProfile(good.activationCode, { confirmationCode: '4711' });
    expect(state(good.iccid)).toBe('Installed');

    const retried = smdp.es2.order({ confirmationCode: '1234' });
    const wrong = await lpa.downloadProfile(retried.activationCode, { confirmationCode: '9999' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Es9Error);
    expect((wrong as Es9Error).statusCodeData).toMatchObject({ subjectCode: '8.2.7', reasonCode: '3.8' });
    expect(euicc.state.profile(retried.iccid)).toBeUndefined();
    await lpa.downloadProfile(retried.activationCode, { confirmationCode: '1234' });
    expect(state(retried.iccid)).toBe('Installed');

    const exhausted = smdp.es2.order({ confirmationCode: '2468' });
    for (let i = 0; i < 3; i++) await lpa.downloadProfile(exhausted.activationCode, { confirmationCode: '0000' }).catch(() => undefined);
    const last = await lpa.downloadProfile(exhausted.activationCode, { confirmationCode: '2468' }).catch((e: unknown) => e);
    expect((last as Es9Error).statusCodeData).toMatchObject({ subjectCode: '8.2.7', reasonCode: '6.4' });
    expect(euicc.state.profile(exhausted.iccid)).toBeUndefined();
    expect(euicc.state.bppInProgress()).toBeUndefined();
  });

  it('by the default SM-DP+ address and by SM-DS discovery, for orders bound to the EID', async () => {
    const viaDefault = smdp.es2.order({ eid: euicc.eid, matchingId: '' });
    const r1 = await lpa.downloadFromDefaultSmdp();
    expect(r1.iccid).toBe(viaDefault.iccid);
    expect(state(viaDefault.iccid)).toBe('Installed');

    const viaSmds = smdp.es2.order({ eid: euicc.eid });
    const { eventEntries } = await lpa.discoverEvents();
    expect(eventEntries.map((e) => e.eventId)).toContain(viaSmds.matchingId);
    const r2 = await lpa.downloadFromSmds({ selectEvent: (events) => events.find((e) => e.eventId === viaSmds.matchingId) });
    expect(r2.iccid).toBe(viaSmds.iccid);
    expect(state(viaSmds.iccid)).toBe('Installed');
  });

  it('Profile Policy Rules set at the SM-DP+ reach the eUICC: PPR1 forbids disabling, PPR2 deleting', async () => {
    const [entry] = smdp.inventory.add({ template: smdp.inventory.templates()[0]!, count: 1 });
    smdp.inventory.setMetadata(entry!.iccid, { profileOwner: { mccMnc: '00f110' }, profilePolicyRules: ['ppr1', 'ppr2'] });
    const order = smdp.es2.order({ iccid: entry!.iccid });
    await lpa.downloadProfile(order.activationCode);
    expect(euicc.state.profile(order.iccid)?.policyRules).toEqual(['ppr1', 'ppr2']);
    await lpa.enableProfile({ iccid: order.iccid });
    const disable = await lpa.disableProfile({ iccid: order.iccid }).catch((e: unknown) => e);
    expect(disable).toBeInstanceOf(EuiccResultError);
    expect((disable as EuiccResultError).code).toBe(3); // disallowedByPolicy (SGP.22 5.7.17)
    expect(euicc.state.enabledProfile()?.iccid).toBe(order.iccid);
  });

  it('enable, disable and delete notifications reach the SM-DP+', async () => {
    const order = smdp.es2.order();
    await lpa.downloadProfile(order.activationCode);
    await lpa.enableProfile({ iccid: order.iccid });
    expect(euicc.state.enabledProfile()?.iccid).toBe(order.iccid);
    await lpa.disableProfile({ iccid: order.iccid });
    await lpa.deleteProfile({ iccid: order.iccid });
    expect(euicc.state.profile(order.iccid)).toBeUndefined();
    await lpa.processNotifications();
    const ops = smdp.state
      .notifications()
      .filter((n) => n.iccid === order.iccid && n.kind === 'otherSignedNotification')
      .flatMap((n) => (n.accepted ? n.operations : []));
    expect(ops).toEqual(['enable', 'disable', 'delete']);
    expect(euicc.state.notifications()).toEqual([]);
  });
});
