import { a } from './loop-a.ts';
export const b = [() => a()];
