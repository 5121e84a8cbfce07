// Runs one campaign in this process (the smoke test and `--in-process` use it; the CLI
// normally runs each campaign in a worker thread through worker.ts, which calls this
// too). Replays start at the episode containing `from`.
import { type Campaign, type CampaignContext, Stats, type TargetResult } from './harness.ts';

export interface RunOptions {
  seed: number;
  /** first iteration (rounded down to the start of its episode) */
  from?: number;
  /** iterations to run */
  count: number;
  /** milliseconds of wall time this campaign may use */
  budgetMs: number;
  /** progress callback (worker heartbeat) */
  heartbeat?: (iteration: number) => void;
  /** periodic snapshot of the statistics (worker progress messages) */
  snapshot?: (stats: Stats) => void;
}

export async function runInProcess(campaign: Campaign, o: RunOptions): Promise<TargetResult> {
  const k = campaign.episodeLength;
  const start = o.from ?? 0;
  const from = Math.floor(start / k) * k;
  const to = Math.ceil((start + o.count) / k) * k;
  const stats = new Stats(campaign.name, o.seed);
  const started = Date.now();
  const deadline = started + o.budgetMs;
  let lastSnapshot = started;
  const ctx: CampaignContext = {
    seed: o.seed,
    from,
    to,
    deadline,
    stats,
    heartbeat(iteration) {
      o.heartbeat?.(iteration);
      if (o.snapshot && (iteration & 255) === 0) {
        const now = Date.now();
        if (now - lastSnapshot > 500) {
          lastSnapshot = now;
          o.snapshot(stats);
        }
      }
    },
    note(text) {
      stats.notes.push(text);
    },
  };
  await campaign.run(ctx);
  const elapsedMs = Date.now() - started;
  const stoppedBy = stats.iterations < to - from ? 'budget' : 'count';
  return stats.result({ fromIteration: from, requestedIterations: to - from, elapsedMs, stoppedBy, restarts: 0 });
}
