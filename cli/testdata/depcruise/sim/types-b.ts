import { makeA } from './types-a.ts';
export interface B { a: ReturnType<typeof makeA> }
