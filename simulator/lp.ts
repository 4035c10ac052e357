import { createRequire } from 'node:module';
import type { LpSolver } from '../domain/metrics';

interface HighsInstance {
  solve(model: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number };
}

let loading: Promise<HighsInstance> | undefined;

/** Loads HiGHS (WASM) once per process; ~130 ms the first time. */
async function loadHighs(): Promise<HighsInstance> {
  if (loading === undefined) {
    // The CommonJS build locates its .wasm beside itself; the ESM build needs a bundler.
    const require = createRequire(import.meta.url);
    const factory = require('highs') as (options?: Record<string, unknown>) => Promise<HighsInstance>;
    loading = factory();
  }
  return loading;
}

/** An LpSolver backed by HiGHS, for the domain's bound models. */
export async function highsSolver(): Promise<LpSolver> {
  const highs = await loadHighs();
  return (model) => {
    const result = highs.solve(model, { output_flag: false });
    return { status: result.Status, objective: result.ObjectiveValue };
  };
}
