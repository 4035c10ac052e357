import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventEnvelope } from '../../domain/events';
import { DriftDetected, PolicyChanged } from '../../domain/events/tuning';
import { PROJECT_ROOT } from '../../lib/definitions';

const fixture = (name: string) =>
  EventEnvelope.parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/tuning/fixtures', name), 'utf8')));

describe('tuning events', () => {
  it('accept the DriftDetected and PolicyChanged fixtures', () => {
    expect(DriftDetected.safeParse(fixture('drift-detected.json').detail).success).toBe(true);
    expect(PolicyChanged.safeParse(fixture('policy-changed.json').detail).success).toBe(true);
  });

  it('refuse a drift without an action and a policy change of an unknown kind, naming the field', () => {
    const drift = { ...(fixture('drift-detected.json').detail as object), actions: [] };
    const change = { ...(fixture('policy-changed.json').detail as object), kind: 'tweaked' };

    expect(DriftDetected.safeParse(drift).error?.issues[0]?.path).toEqual(['actions']);
    expect(PolicyChanged.safeParse(change).error?.issues[0]?.path).toEqual(['kind']);
  });

  it('generate the draft-04 JSON Schemas the schema registry takes', () => {
    for (const schema of [DriftDetected, PolicyChanged]) {
      const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-04' });
      expect(json.type).toBe('object');
    }
  });
});
