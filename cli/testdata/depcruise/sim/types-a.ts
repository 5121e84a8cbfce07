// allowed: this cycle goes through a type-only import
import type { B } from './types-b.ts';
export interface A { b?: B }
export const makeA = (): A => ({});
