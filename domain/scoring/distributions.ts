/**
 * Small numeric helpers for the scoring model. Pure and dependency-free so the Lambdas and
 * the simulator compute identical risks.
 */

/** Standard normal CDF, W. J. Cody's rational approximation via erfc (absolute error < 1e-7). */
export function normalCdf(z: number): number {
  if (z === Number.POSITIVE_INFINITY) return 1;
  if (z === Number.NEGATIVE_INFINITY) return 0;
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const r = Math.exp(logErfcNonNegative(Math.abs(x)));
  return x >= 0 ? r : 2 - r;
}

/**
 * ln erfc(z) for z ≥ 0, from the same Chebyshev fit kept in log form, so it stays accurate far
 * into the tail where erfc itself underflows.
 */
export function logErfcNonNegative(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  return (
    Math.log(t) -
    z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
  );
}

/** Parameters (mu, sigma of the underlying normal) of a lognormal with the given mean and CV. */
export function lognormalParameters(mean: number, cv: number): { mu: number; sigma: number } {
  const sigmaSquared = Math.log(1 + cv * cv);
  return { mu: Math.log(mean) - sigmaSquared / 2, sigma: Math.sqrt(sigmaSquared) };
}

/** P(X > threshold) for X lognormal with the given mean and CV; 1 when threshold ≤ 0. */
export function lognormalSurvival(threshold: number, mean: number, cv: number): number {
  if (threshold <= 0) return 1;
  if (!(mean > 0)) return 0;
  const { mu, sigma } = lognormalParameters(mean, cv);
  if (sigma === 0) return threshold < mean ? 1 : 0;
  return 1 - normalCdf((Math.log(threshold) - mu) / sigma);
}
