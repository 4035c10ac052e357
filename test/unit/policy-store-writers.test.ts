import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/definitions';

/**
 * One policy store: outside the store implementations and the port itself, no production code
 * writes the active policy (POLICY / ACTIVE) or activates a version directly. Tests may seed.
 */

const PRODUCTION = ['lambdas', 'local', 'ops', 'simulator', 'bin', 'lib', 'scripts'];
// The port, and the stores that implement its two primitives.
const ALLOWED = new Set([
  'lambdas/shared/policy-store.ts',
  'lambdas/shared/dynamodb-feature-store.ts',
  'lambdas/shared/dynamodb-tuning-store.ts',
  'lambdas/shared/in-memory.ts',
  'lambdas/shared/tuning-store.ts',
  'lambdas/shared/ports.ts',
]);
const WRITES = /\.(putActivePolicy|activatePolicy|putPolicyVersion)\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the active policy has one writer', () => {
  it('is changed only through lambdas/shared/policy-store.ts', () => {
    const offenders = PRODUCTION.flatMap((dir) => sources(join(PROJECT_ROOT, dir)))
      .map((path) => relative(PROJECT_ROOT, path))
      .filter((path) => !ALLOWED.has(path))
      .filter((path) => WRITES.test(readFileSync(join(PROJECT_ROOT, path), 'utf8')));

    expect(offenders).toEqual([]);
  });

  it('would notice a direct write (the check can fail)', () => {
    expect(WRITES.test('await features.putActivePolicy(policy);')).toBe(true);
    expect(WRITES.test('await deps.tuning.activatePolicy(next, active.version)')).toBe(true);
  });
});
