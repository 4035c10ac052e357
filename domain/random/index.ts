/**
 * Seeded random streams. domain/ never calls Math.random: randomness is a value passed in, so a
 * simulation replays bit-for-bit from its seed, and policies compared on one seed see the same
 * arrivals, sizes and patience draws (common random numbers).
 */

/** A source of uniform numbers in [0, 1). */
export interface RandomSource {
  next(): number;
}

/** 32-bit FNV-1a hash of a string, to derive independent stream seeds from names. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): passes PractRand to 2^60 bytes,
 * 128-bit state, fast in JavaScript's 32-bit integer arithmetic.
 */
export function sfc32(seedA: number, seedB: number, seedC: number, seedD: number): RandomSource {
  let a = seedA >>> 0;
  let b = seedB >>> 0;
  let c = seedC >>> 0;
  let d = seedD >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs so nearby seeds decorrelate.
  for (let index = 0; index < 15; index++) next();
  return { next };
}

/**
 * An independent stream named `name` under `seed`: the same (seed, name) always yields the same
 * sequence, and different names do not share draws.
 *
 * @example
 * const arrivals = createStream(42, 'arrivals');
 * arrivals.next(); // 0.73… every time
 */
export function createStream(seed: number, name: string): RandomSource {
  const base = hashString(`${seed}:${name}`);
  return sfc32(base, hashString(`${name}#1:${seed}`), hashString(`${name}#2:${seed}`), seed >>> 0);
}

/** Exponential variate with the given mean. */
export function exponential(random: RandomSource, mean: number): number {
  return -mean * Math.log(1 - random.next());
}

/** Standard normal variate (Box–Muller; one of the pair is discarded to keep streams aligned). */
export function standardNormal(random: RandomSource): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Lognormal variate with the given mean and coefficient of variation; `mean` exactly when cv = 0. */
export function lognormal(random: RandomSource, mean: number, cv: number): number {
  const normal = standardNormal(random);
  if (cv <= 0) return mean;
  const sigmaSquared = Math.log(1 + cv * cv);
  return mean * Math.exp(Math.sqrt(sigmaSquared) * normal - sigmaSquared / 2);
}

/** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
export function weightedIndex(random: RandomSource, weights: readonly number[]): number {
  let total = 0;
  for (const weight of weights) total += Math.max(weight, 0);
  let target = random.next() * total;
  for (let index = 0; index < weights.length; index++) {
    target -= Math.max(weights[index] ?? 0, 0);
    if (target < 0) return index;
  }
  return Math.max(weights.length - 1, 0);
}
