// Negative and security: the LPA's TLS check of the SM-DP+ (SGP.22 2.6.6, 4.5.2.1: the
// DPtls certificate chains to the CI the rig trusts, is valid now and names the host).
// A rogue HTTPS server stands in for the SM-DP+ with each SGP.26 invalid DPtls variant of
// certs/issue.ts (plus a valid certificate for another host); the LPA, having started the
// download through the bridge (GetEUICCChallenge, GetEUICCInfo1), must refuse the
// handshake: no ES9+ request reaches the rogue server and nothing else reaches the card.
// The 'wrongPolicy' variant is left out: SGP.22 4.5.2.1 makes the policy check optional
// for the LPA, and a generic TLS stack does not make it.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { INVALID_VARIANTS, issueInvalid, issueTls, type IssuedCert, type InvalidVariant } from '../../certs/issue.ts';
import { Es9TransportError } from '../../sim/lpa/errors.ts';
import { cardCommandTags, cleanRig, expectNoOpenLogicalChannel, rejectsWith, restoreRig, withLpa, euiccOf } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Negative and security' as const;
const HOST = 'testsmdpplus1.example.com';

interface Rogue {
  port: number;
  /** HTTP requests that reached it (must stay 0) */
  requests: number;
  close(): Promise<void>;
}

async function rogueServer(cert: IssuedCert): Promise<Rogue> {
  const state = { requests: 0 };
  const server = https.createServer({ cert: cert.pem, key: cert.keyPem, minVersion: 'TLSv1.2' }, (_req, res) => {
    state.requests++;
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('rogue');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const WHY: Partial<Record<InvalidVariant, string>> = {
  expired: 'whose validity ended yesterday',
  notYetValid: 'whose validity starts tomorrow',
  wrongCi: 'chained to a CI the rig does not trust',
  badSignature: 'with one bit of its CI signature flipped',
  wrongIssuer: 'whose issuer DN does not name the CI',
};

const cases: { variant: string; why: string; make: () => Promise<IssuedCert> }[] = [
  ...INVALID_VARIANTS.dptls
    .filter((v) => v !== 'wrongPolicy')
    .map((v) => ({ variant: v[0]!.toUpperCase() + v.slice(1), why: WHY[v] ?? v, make: async () => (await issueInvalid('dptls', v)).leaf })),
  { variant: 'WrongHost', why: 'valid and chained to the SGP.26 CI, but issued for another host name', make: () => issueTls({ host: 'other-smdp.example.com' }) },
];

for (const k of cases) {
  tc(
    {
      id: `TC_LPA-Bridge_TLS.RogueServer_${k.variant}`,
      title: `the LPA refuses an SM-DP+ TLS certificate ${k.why}`,
      group,
      iut: 'self', // the test LPA's TLS check decides; the bridge is not on the HTTPS path
      purpose: 'The LPA only speaks ES9+ to an SM-DP+ whose TLS certificate it can trust, so the eUICC behind the bridge never authenticates an impostor.',
      requirement: 'SGP.22 2.6.6 (ES9+ over TLS, server authenticated by its DPtls certificate chained to the CI), 4.5.2.1; RFC 5280 6.1',
      initialConditions: ['clean eUICC', `a rogue HTTPS server for ${HOST} with a DPtls certificate ${k.why}`, 'the LPA trusts the rig CI only'],
      steps: [
        { action: `download with an Activation Code naming ${HOST}, the connection routed to the rogue server`, expected: "Es9TransportError problem 'tls' on ES9+.initiateAuthentication" },
        { action: 'check the rogue server and the card', expected: 'no HTTP request reached the server; only GetEUICCChallenge and GetEUICCInfo1 reached the card; no channel left open' },
      ],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      const cert = await c.setup('rogue certificate', () => k.make());
      const rogue = await c.setup('rogue server listening', () => rogueServer(cert));
      try {
        await c.step(1, () =>
          withLpa(
            rt,
            async (lpa) => {
              const err = await rejectsWith(lpa.downloadProfile(`1$${HOST}$ROGUE-0001`), Es9TransportError);
              expect([err.fn, err.problem]).toEqual(['ES9+.initiateAuthentication', 'tls']);
            },
            { http: { ...rt.httpOptions(), connect: { host: '127.0.0.1', port: rogue.port } } },
          ),
        );
        await c.step(2, () => {
          expect(rogue.requests).toBe(0);
          const tags = cardCommandTags(c, rt, 'the card got only GetEUICCChallenge and GetEUICCInfo1');
          if (tags) expect(tags).toEqual(['BF2E', 'BF20']);
          if (c.observe('cardState', 'no profile on the card')) expect(euiccOf(rt).state.profiles()).toEqual([]);
          expectNoOpenLogicalChannel(c, rt);
        });
      } finally {
        await rogue.close();
        await restoreRig(rt);
      }
    },
  );
}
