import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ItemId } from '../../domain/events';
import { executionName, instanceAttemptOf, MAX_INSTANCE_ATTEMPTS } from '../../domain/process';
import { executionArnFor } from '../../lambdas/shared/sfn-execution-control';

/** Defect 2 of issue 21: every attempt of an item gets its own valid, distinct execution name. */

const itemId = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/).filter((id) => ItemId.safeParse(id).success);

describe('execution names of instance attempts', () => {
  it('are valid Step Functions names, distinct per attempt and per id, and give their attempt back (property)', () => {
    fc.assert(
      fc.property(itemId, itemId, fc.integer({ min: 1, max: MAX_INSTANCE_ATTEMPTS }), (a, b, attempt) => {
        const name = executionName(a, attempt);
        expect(name.length).toBeLessThanOrEqual(80);
        expect(name).toMatch(/^[A-Za-z0-9_.-]+$/);
        expect(instanceAttemptOf(name)).toBe(attempt);
        expect(executionName(a, 1)).toBe(a);
        if (attempt > 1) expect(name).not.toBe(executionName(a, attempt - 1));
        if (a !== b) expect(executionName(b, attempt)).not.toBe(name);
      }),
    );
  });

  it('belong to the state machine, whether it is named by its ARN or by an alias', () => {
    const machine = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Flowtune-ProcessInstance';
    expect(executionArnFor(machine, 'HD-1.2')).toBe(
      'arn:aws:states:eu-west-1:111122223333:execution:Flowtune-ProcessInstance:HD-1.2',
    );
    expect(executionArnFor(`${machine}:live`, 'HD-1')).toBe(
      'arn:aws:states:eu-west-1:111122223333:execution:Flowtune-ProcessInstance:HD-1',
    );
  });
});
