import { benchDownloads } from './download.ts';
import { summarize } from './lib/stats.ts';
const runs = await benchDownloads({ mode: (process.argv[2] ?? 'direct') as 'direct' | 'bridge', runs: Number(process.argv[3] ?? 20), warmup: 3, baud: null, personality: 'quectel-ec25j', workDir: `${process.env.AB_TMP ?? '/tmp'}/ab-${Date.now()}` });
const s = (k: 'totalMs' | 'cpuMs' | 'euiccMs' | 'smdpMs' | 'httpsMs') => summarize(runs.map((r) => r[k]));
console.log(JSON.stringify({ total: s('totalMs').median, min: s('totalMs').min, cpu: s('cpuMs').median, cpuMin: s('cpuMs').min, euicc: s('euiccMs').median, smdp: s('smdpMs').median, https: s('httpsMs').median }));
