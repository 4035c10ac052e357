/**
 * Pooled queueing references: Erlang C (M/M/n, no abandonment) and Erlang A (M/M/n+M, the
 * Palm model with exponential patience). Used as sanity references beside the simulator: a
 * single pooled queue with every agent able to take every item is what perfect routing of a
 * fully flexible workforce would approach.
 */

export interface QueueReference {
  /** Probability an arrival waits at all. */
  readonly probabilityOfWait: number;
  /** Mean wait in queue over all arrivals (abandoning ones included), seconds. */
  readonly meanWaitSeconds: number;
  /** Fraction of arrivals that abandon (0 for Erlang C). */
  readonly abandonment: number;
  /** Fraction of arrivals answered within `targetSeconds`. */
  readonly serviceLevel: number;
  /** Offered load per agent, λ / (n μ). */
  readonly utilisation: number;
}

/**
 * Erlang C for `agents` servers, arrival rate `arrivalRate` (1/s), mean handling time
 * `meanHandlingSeconds`; infinite waits (NaN-free: Infinity) when the load is ≥ 1.
 *
 * @example
 * erlangC(10, 8 / 60, 60, 20).probabilityOfWait; // ≈ 0.41
 */
export function erlangC(
  agents: number,
  arrivalRate: number,
  meanHandlingSeconds: number,
  targetSeconds: number,
): QueueReference {
  const offered = arrivalRate * meanHandlingSeconds;
  const utilisation = offered / agents;
  if (utilisation >= 1) {
    return {
      probabilityOfWait: 1,
      meanWaitSeconds: Number.POSITIVE_INFINITY,
      abandonment: 0,
      serviceLevel: 0,
      utilisation,
    };
  }
  // Erlang B by the stable recursion, then C from B.
  let erlangB = 1;
  for (let servers = 1; servers <= agents; servers++)
    erlangB = (offered * erlangB) / (servers + offered * erlangB);
  const probabilityOfWait = erlangB / (1 - utilisation * (1 - erlangB));
  const drainRate = agents / meanHandlingSeconds - arrivalRate;
  return {
    probabilityOfWait,
    meanWaitSeconds: probabilityOfWait / drainRate,
    abandonment: 0,
    serviceLevel: 1 - probabilityOfWait * Math.exp(-drainRate * targetSeconds),
    utilisation,
  };
}

/**
 * Erlang A (M/M/n+M) by the birth–death chain truncated where the queue's probability mass is
 * negligible; exponential patience with mean `meanPatienceSeconds`.
 *
 * Service level is the standard one: the fraction of ALL arrivals answered within
 * `targetSeconds`. A caller who abandons, before or after the target time, is a miss, as in the
 * simulator and in contact-centre reporting ("abandoned within T count against the target").
 *
 * @example
 * erlangA(10, 8 / 60, 60, 120, 20).serviceLevel; // ≈ 0.76 (abandoners count as misses)
 */
export function erlangA(
  agents: number,
  arrivalRate: number,
  meanHandlingSeconds: number,
  meanPatienceSeconds: number,
  targetSeconds: number,
): QueueReference {
  const serviceRate = 1 / meanHandlingSeconds;
  const abandonRate = 1 / meanPatienceSeconds;
  // Unnormalised state probabilities in log space to avoid overflow for large n.
  const logWeights: number[] = [0];
  for (let state = 1; state <= agents; state++) {
    logWeights.push((logWeights[state - 1] ?? 0) + Math.log(arrivalRate / (state * serviceRate)));
  }
  for (let queue = 1; queue < 100_000; queue++) {
    const state = agents + queue;
    const next =
      (logWeights[state - 1] ?? 0) + Math.log(arrivalRate / (agents * serviceRate + queue * abandonRate));
    logWeights.push(next);
    if (queue > 10 && next < (logWeights[agents] ?? 0) - 40) break;
  }
  const peak = Math.max(...logWeights);
  const weights = logWeights.map((value) => Math.exp(value - peak));
  const total = weights.reduce((sum, value) => sum + value, 0);
  const drainRate = agents * serviceRate;
  let probabilityOfWait = 0;
  let meanQueue = 0;
  let answeredAfterWaiting = 0;
  // Mean time for a caller who finds `ahead` waiting to reach an agent, in the chain "tilted" by its
  // own patience: from k ahead the next step comes at rate n·μ + (k + 1)·θ (a departure ahead or
  // its own abandonment), so the sum over k = ahead … 0 of 1 / (n·μ + (k + 1)·θ).
  let meanTiltedSeconds = 0;
  for (let state = agents; state < weights.length; state++) {
    const probability = (weights[state] ?? 0) / total;
    probabilityOfWait += probability;
    const ahead = state - agents;
    meanQueue += probability * ahead;
    meanTiltedSeconds += 1 / (drainRate + (ahead + 1) * abandonRate);
    // A caller finding `ahead` waiting is answered only if all of them leave (served at n·μ or
    // abandoning at θ each) before its own patience runs out: telescoping, n·μ / (n·μ + (ahead+1)·θ).
    const eventuallyAnswered = drainRate / (drainRate + (ahead + 1) * abandonRate);
    // ...and within the target when those ahead + 1 steps take at most T. Their time is a sum of
    // exponentials with the rates above; it is approximated by the Erlang distribution with the same
    // number of steps and the same mean (exact without abandonment and when nobody is ahead).
    const stepRate = (ahead + 1) / meanTiltedSeconds;
    const withinTarget = targetSeconds <= 0 ? 0 : 1 - poissonCdf(ahead, stepRate * targetSeconds);
    answeredAfterWaiting += probability * eventuallyAnswered * withinTarget;
  }
  const abandonment = (meanQueue * abandonRate) / arrivalRate;
  return {
    probabilityOfWait,
    meanWaitSeconds: meanQueue / arrivalRate,
    abandonment,
    // Answered at once (a free agent on arrival), or answered after waiting at most T; abandoners miss.
    serviceLevel: Math.min(1, Math.max(0, 1 - probabilityOfWait + answeredAfterWaiting)),
    utilisation: (arrivalRate * meanHandlingSeconds) / agents,
  };
}

/**
 * P(N ≤ k) for N ~ Poisson(mean), as the regularised upper incomplete gamma Q(k + 1, mean):
 * accurate for means in the thousands, where summing e^(−mean)·meanⁱ/i! underflows to 0.
 */
function poissonCdf(k: number, mean: number): number {
  if (mean <= 0) return 1;
  return Math.min(1, Math.max(0, regularisedGammaQ(k + 1, mean)));
}

const GAMMA_EPSILON = 1e-14;
const GAMMA_MAX_ITERATIONS = 10_000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9): about 15 significant digits. */
function logGamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = coefficients[0] ?? 1;
  for (let index = 1; index < coefficients.length; index++)
    sum += (coefficients[index] ?? 0) / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Q(a, x) = Γ(a, x) / Γ(a): the series for x < a + 1, the continued fraction otherwise (Numerical Recipes). */
function regularisedGammaQ(a: number, x: number): number {
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < GAMMA_MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * GAMMA_EPSILON) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let n = 1; n < GAMMA_MAX_ITERATIONS; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    fraction *= step;
    if (Math.abs(step - 1) < GAMMA_EPSILON) break;
  }
  return Math.exp(logPrefix) * fraction;
}
