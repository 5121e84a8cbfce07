// The test SM-DP+ running in a container (testcontainers), for CI pipelines that
// keep the SM-DP+ apart from the device under test. Applicable only where a
// container engine is present; elsewhere the case is N/A with the engine's own
// reason in the report, never a failure.
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from 'testcontainers';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { postJson } from '../../sim/smdp/index.ts';

const rig = useRig();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

tc(
  {
    id: 'TC_SM-DP+_Container.Download_Testcontainers',
    title: 'a profile downloads through the bridge from the test SM-DP+ running in a container',
    group: 'Provisioning through the bridge',
    iut: 'self', // judges the SM-DP+ running in a container
    purpose: 'CI pipelines can run the SM-DP+ as a container next to the rig; the download path through the bridge is the same.',
    requirement: 'SGP.22 3.1.3 profile download; issue: SM-DP+ through testcontainers when a container engine is present',
    initialConditions: ['a container engine (Docker/Podman) is reachable', 'the bridge is running with the emulated eUICC behind the fake modem'],
    steps: [
      { action: 'start node:20 with bridgelab mounted, running `bridgelab smdp --host 0.0.0.0 --test-mode`', expected: 'the SM-DP+ listens on its mapped port' },
      { action: 'ES2+ DownloadOrder + ConfirmOrder against the container', expected: 'an activation code' },
      { action: 'download through the bridge with the test LPA', expected: 'the profile is installed on the eUICC' },
    ],
    requires: ['emulatedEuicc'],
    timeoutMs: 600_000,
  },
  async (c) => {
    try {
      await getContainerRuntimeClient();
    } catch (err) {
      c.notApplicable(`no container engine: ${(err as Error).message}`);
    }
    const rt = rig(c);
    let container: StartedTestContainer | undefined;
    try {
      container = await c.step(1, () =>
        new GenericContainer('node:20-bookworm')
          .withBindMounts([{ source: ROOT, target: '/bridgelab', mode: 'ro' }])
          .withWorkingDir('/bridgelab')
          .withCommand(['node', 'bin/bridgelab.js', 'smdp', '--host', '0.0.0.0', '--port', '8443', '--data-dir', '/tmp/smdp', '--test-mode'])
          .withExposedPorts(8443)
          .withWaitStrategy(Wait.forLogMessage(/listening on/))
          .start(),
      );
      const host = container.getHost();
      const port = container.getMappedPort(8443);
      const ac = await c.step(2, async () => {
        const trust = await container!.exec(['cat', 'certs/sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.pem']);
        const reply = await postJson(`https://${host}:${port}/gsma/rsp2/es2plus/downloadOrder`, { header: { functionRequesterIdentifier: 'bridgelab', functionCallIdentifier: '1' }, profileType: 'TS48v1_A' }, { ca: trust.output, servername: 'testsmdpplus1.example.com' });
        expect(reply.status).toBe(200);
        const iccid = (reply.json as { iccid: string }).iccid;
        const confirm = await postJson(`https://${host}:${port}/gsma/rsp2/es2plus/confirmOrder`, { header: { functionRequesterIdentifier: 'bridgelab', functionCallIdentifier: '2' }, iccid, releaseFlag: true }, { ca: trust.output, servername: 'testsmdpplus1.example.com' });
        const body = confirm.json as { matchingId: string; smdpAddress: string };
        return { ac: `1$${body.smdpAddress}$${body.matchingId}`, iccid, ca: trust.output };
      });
      await c.step(3, async () => {
        const { lpa, close } = await rt.openLpa({ http: { ca: ac.ca, connect: { host, port } } });
        try {
          await lpa.downloadProfile(ac.ac);
        } finally {
          await close();
        }
        expect(rt.euicc!.state.profile(ac.iccid)).toBeDefined();
      });
    } finally {
      await container?.stop();
    }
  },
);
