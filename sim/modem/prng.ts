// Seeded pseudo-random numbers for the modem's fault and quirk draws (spurious
// ERROR, dropped bytes, session handles), so a failing conformance run replays
// identically from its seed. mulberry32: small, fast, good enough for test faults.

export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** uniform 32-bit unsigned integer */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  /** true with probability p */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }
}
