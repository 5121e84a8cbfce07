// The machine a benchmark ran on (written next to every result: numbers from a 2-core
// CI runner and a workstation are not comparable), plus the load at start and end,
// because a busy machine (other jobs on the same cores) inflates wall times.
import os from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly model: string;
  readonly memoryMiB: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly kernel: string;
  /** 1, 5 and 15 minute load averages when the run started */
  readonly loadAverage: readonly number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    kernel: os.release(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
