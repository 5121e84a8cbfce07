// sim-not-to-entry-points: sim -> cli
import { tool } from '../cli/tool.ts';
export const usesCli = tool;
