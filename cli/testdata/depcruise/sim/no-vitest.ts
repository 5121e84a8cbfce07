// no-vitest-in-production
import { expect } from 'vitest';
export const check = (x: unknown): void => expect(x).toBeTruthy();
