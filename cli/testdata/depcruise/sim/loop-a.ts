// no-circular: loop-a -> loop-b -> loop-a
import { b } from './loop-b.ts';
export const a = (): number => 1 + b.length;
