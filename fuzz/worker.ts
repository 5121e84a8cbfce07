// Worker thread entry: runs one campaign (runner.ts) and reports to the main thread of
// run.ts. The heartbeat goes through shared memory ([iteration, tick]) so the main thread
// sees a stalled input even when this thread is stuck in synchronous code; statistics go
// out as periodic snapshots, so a worker terminated by the watchdog loses little.
import { parentPort, workerData } from 'node:worker_threads';
import { campaignByName } from './campaigns.ts';
import type { TargetResult } from './harness.ts';
import { runInProcess } from './runner.ts';

export interface WorkerInput {
  readonly campaign: string;
  readonly seed: number;
  readonly from: number;
  readonly count: number;
  readonly budgetMs: number;
  /** Int32Array over a SharedArrayBuffer: [0] iteration in flight, [1] tick */
  readonly heartbeat: SharedArrayBuffer;
}

export type WorkerMessage = { type: 'snapshot'; result: TargetResult } | { type: 'done'; result: TargetResult };

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const port = parentPort;
  if (!port) throw new Error('fuzz/worker.ts must run in a worker thread');
  const campaign = campaignByName(input.campaign);
  if (!campaign) throw new Error(`unknown campaign ${input.campaign}`);
  const beat = new Int32Array(input.heartbeat);
  const started = Date.now();
  const result = await runInProcess(campaign, {
    seed: input.seed,
    from: input.from,
    count: input.count,
    budgetMs: input.budgetMs,
    heartbeat(iteration) {
      Atomics.store(beat, 0, iteration);
      Atomics.add(beat, 1, 1);
    },
    snapshot(stats) {
      const msg: WorkerMessage = { type: 'snapshot', result: stats.result({ fromIteration: input.from, requestedIterations: input.count, elapsedMs: Date.now() - started, stoppedBy: 'aborted', restarts: 0 }) };
      port.postMessage(msg);
    },
  });
  const done: WorkerMessage = { type: 'done', result };
  port.postMessage(done);
}

await main();
