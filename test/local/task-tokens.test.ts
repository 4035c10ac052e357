import { describe, expect, it } from 'vitest';
import { TaskFailedError, TaskTokenRegistry } from '../../local/task-tokens';

const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:ProcessInstance:TCK-10482';

function openOne(registry = new TaskTokenRegistry(), stateName = 'Wait For Completion') {
  const token = registry.newToken();
  const result = registry.openWait({ token, executionArn: EXECUTION, stateName });
  return { registry, token, result };
}

describe('TaskTokenRegistry', () => {
  it('resumes the wait with a JSON copy of the output', async () => {
    // Prepare
    const { registry, token, result } = openOne();
    const output = { outcome: 'resolved', completedAt: new Date('2026-11-03T10:02:09Z'), dropped: undefined };

    // Act
    registry.sendTaskSuccess(token, output);

    // Assess
    await expect(result).resolves.toEqual({ outcome: 'resolved', completedAt: '2026-11-03T10:02:09.000Z' });
    expect(registry.status(token)).toMatchObject({ closure: 'succeeded', stateName: 'Wait For Completion' });
  });

  it('fails the wait with the error and cause that Retry and Catch see', async () => {
    // Prepare
    const { registry, token, result } = openOne();

    // Act
    registry.sendTaskFailure(token, 'WorkItemCancelled', 'duplicate lead merged');

    // Assess
    await expect(result).rejects.toBeInstanceOf(TaskFailedError);
    await expect(result).rejects.toMatchObject({
      name: 'WorkItemCancelled',
      message: 'duplicate lead merged',
    });
  });

  it('answers a second answer to the same token with TaskTimedOut, as AWS does', async () => {
    // Prepare
    const { registry, token, result } = openOne();
    registry.sendTaskSuccess(token, { first: true });

    // Act
    const secondSuccess = () => registry.sendTaskSuccess(token, { second: true });
    const lateFailure = () => registry.sendTaskFailure(token, 'Late', 'too late');

    // Assess
    expect(secondSuccess).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
    expect(lateFailure).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
    await expect(result).resolves.toEqual({ first: true });
  });

  it('answers a token whose task timed out with TaskTimedOut', () => {
    // Prepare
    const { registry, token } = openOne();

    // Act
    registry.expire(token);

    // Assess
    expect(() => registry.sendTaskSuccess(token, {})).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
    expect(registry.status(token)).toMatchObject({ closure: 'timed-out' });
  });

  it('answers a token never issued with TaskDoesNotExist and an empty one with InvalidToken', () => {
    // Prepare
    const registry = new TaskTokenRegistry();

    // Act
    const unknown = () => registry.sendTaskSuccess('AAAAKgAAAAIAAAAAAAAAAf==', {});
    const empty = () => registry.sendTaskFailure('', 'X', 'y');

    // Assess
    expect(unknown).toThrow(expect.objectContaining({ name: 'TaskDoesNotExist' }));
    expect(empty).toThrow(expect.objectContaining({ name: 'InvalidToken' }));
  });

  it('refuses output that is not JSON and keeps the wait open', async () => {
    // Prepare
    const { registry, token, result } = openOne();
    const circular: Record<string, unknown> = {};
    circular.self = circular;

    // Act
    const attempts = [undefined, circular, { big: 1n }].map(
      (output) => () => registry.sendTaskSuccess(token, output),
    );

    // Assess
    for (const attempt of attempts)
      expect(attempt).toThrow(expect.objectContaining({ name: 'InvalidOutput' }));
    expect(registry.status(token)).toBe('open');
    registry.sendTaskSuccess(token, null);
    await expect(result).resolves.toBeNull();
  });

  it('closes every wait of an ended execution, and only those', () => {
    // Prepare
    const registry = new TaskTokenRegistry();
    const mine = registry.newToken();
    const other = registry.newToken();
    void registry.openWait({ token: mine, executionArn: EXECUTION, stateName: 'Human Review' });
    void registry.openWait({ token: other, executionArn: `${EXECUTION}-2`, stateName: 'Human Review' });

    // Act
    registry.closeExecution(EXECUTION);

    // Assess
    expect(registry.pending().map((wait) => wait.token)).toEqual([other]);
    expect(() => registry.sendTaskSuccess(mine, {})).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
  });

  it('issues distinct opaque tokens within the AWS length limit', () => {
    // Prepare
    const registry = new TaskTokenRegistry();

    // Act
    const tokens = Array.from({ length: 200 }, () => registry.newToken());

    // Assess
    expect(new Set(tokens).size).toBe(200);
    for (const token of tokens) expect(token.length).toBeLessThanOrEqual(1024);
  });
});
