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
  let probabilityOfWait = 0;
  let meanQueue = 0;
  let serviceLevelMiss = 0;
  for (let state = agents; state < weights.length; state++) {
    const probability = (weights[state] ?? 0) / total;
    probabilityOfWait += probability;
    const queueLength = state - agents;
    meanQueue += probability * queueLength;
    // An arrival finding `queueLength` ahead waits beyond the target when fewer than queueLength+1
    // departures (service n·μ + abandonment of those ahead) happen in targetSeconds; approximate
    // the departure rate as constant at its level on arrival (Poisson count).
    const departureRate = agents * serviceRate + queueLength * abandonRate;
    serviceLevelMiss +=
      probability *
      poissonCdf(queueLength, departureRate * targetSeconds) *
      Math.exp(-abandonRate * targetSeconds);
  }
  const abandonment = (meanQueue * abandonRate) / arrivalRate;
  return {
    probabilityOfWait,
    meanWaitSeconds: meanQueue / arrivalRate,
    abandonment,
    serviceLevel: Math.min(1, Math.max(0, 1 - serviceLevelMiss)),
    utilisation: (arrivalRate * meanHandlingSeconds) / agents,
  };
}

/** P(N ≤ k) for N ~ Poisson(mean). */
function poissonCdf(k: number, mean: number): number {
  let term = Math.exp(-mean);
  let sum = term;
  for (let count = 1; count <= k; count++) {
    term *= mean / count;
    sum += term;
  }
  return Math.min(sum, 1);
}
