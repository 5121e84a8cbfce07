// Regression test for what the fuzzer (fuzz/, campaign `smdp`, seed 1 iteration 545)
// found in the SM-DP+ HTTP layer: a request body over the 1 MiB limit was meant to get
// HTTP 413 with a Failed status, but the server destroyed the socket first, so the client
// only saw "socket hang up" (ECONNRESET). The loopback control endpoint read its body
// the same way but let the 413 escape as an HTTP 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ES9P_PATHS } from '../rsp/json.ts';
import { postJson } from './https-json.ts';
import type { SmdpServer } from './server.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;

beforeAll(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir, { inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 1 }] });
});

afterAll(async () => {
  await server.close();
  removeDir(dir);
});

describe('fuzz regressions: SM-DP+ HTTP', () => {
  it('answers an oversized body with HTTP 413 and a Failed status, then keeps serving', async () => {
    const tls = { ca: server.trustAnchorPem, servername: server.hostname };
    const big = await postJson(server.url + ES9P_PATHS.handleNotification, { pad: 'A'.repeat((1 << 20) + 10) }, tls);
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '1.1', reasonCode: '2.1' } } } });
    expect(big.headers.connection).toBe('close');
    const next = await postJson(server.url + ES9P_PATHS.initiateAuthentication, {}, tls);
    expect(next.status).toBe(400);
  });

  it('answers an oversized body on the control endpoint with HTTP 413 too, not 500', async () => {
    const tls = { ca: server.trustAnchorPem, servername: server.hostname };
    const big = await postJson(server.url + '/bridgelab/control/misbehaviour', { pad: 'A'.repeat((1 << 20) + 10) }, tls);
    expect(big.status).toBe(413);
    expect(big.headers.connection).toBe('close');
    const after = await postJson(server.url + '/bridgelab/control/misbehaviour', {}, tls);
    expect(after.status).toBe(200);
  });
});
