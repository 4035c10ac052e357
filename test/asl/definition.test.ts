import { describe, expect, it } from 'vitest';
import {
  AUDIT_TABLE,
  dynamoDbActionsByPlaceholder,
  FEATURES_TABLE,
  INSTANCES_TABLE,
  PROCESS_INSTANCE,
  readDefinition,
  substitute,
} from '../../lib/definitions';

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Readonly<Record<string, unknown>>;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly End?: boolean;
}

interface Asl {
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Readonly<Record<string, AslState>>;
}

const raw = readDefinition(PROCESS_INSTANCE);
const asl = JSON.parse(raw) as Asl;
const states = Object.entries(asl.States);

describe('process-instance.asl.json', () => {
  it('uses exactly the placeholders its definition declares', () => {
    // Prepare
    const values = Object.fromEntries(
      PROCESS_INSTANCE.placeholders.map((name) => [name, `value-of-${name}`]),
    );

    // Act
    const substituted = substitute(raw, values);

    // Assess
    expect(substituted).not.toMatch(/\$\{[A-Za-z0-9]+\}/);
  });

  it('gives every Task a Retry and a Catch', () => {
    const tasks = states.filter(([, state]) => state.Type === 'Task');

    expect(tasks.length).toBeGreaterThan(10);
    for (const [name, state] of tasks) {
      expect(state.Retry?.length, `${name} has no Retry`).toBeGreaterThan(0);
      expect(state.Catch?.length, `${name} has no Catch`).toBeGreaterThan(0);
    }
  });

  it('never retries a failure a resumer sent on purpose in callback tasks', () => {
    const callbacks = states.filter(([, state]) => state.Resource?.endsWith('.waitForTaskToken'));

    expect(callbacks.map(([name]) => name).sort()).toEqual([
      'Human Review',
      'Wait For Assignment',
      'Wait For Completion',
      'Wait For Exception Resolution',
    ]);
    for (const [name, state] of callbacks) {
      const retried = (state.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      expect(retried, `${name} retries a sent failure`).not.toContain('States.TaskFailed');
      expect(retried, `${name} retries everything`).not.toContain('States.ALL');
    }
  });

  it('names states as title-case verb phrases and keeps every transition inside the machine', () => {
    for (const [name, state] of states) {
      expect(name, 'state names are Title Case').toMatch(/^[A-Z][A-Za-z-]*( [A-Z][A-Za-z-]*\??)*\??$/);
      const targets = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c) => c.Next),
        ...(state.Catch ?? []).map((c) => c.Next),
      ];
      for (const target of targets.filter((t): t is string => t !== undefined)) {
        expect(asl.States[target], `${name} → ${target}`).toBeDefined();
      }
    }
  });

  it('reaches every state from StartAt', () => {
    const seen = new Set<string>();
    const queue = [asl.StartAt];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const state = asl.States[name];
      if (!state) continue;
      queue.push(
        ...[
          state.Next,
          state.Default,
          ...(state.Choices ?? []).map((c) => c.Next),
          ...(state.Catch ?? []).map((c) => c.Next),
        ].filter((t): t is string => t !== undefined),
      );
    }

    expect([...seen].sort()).toEqual(Object.keys(asl.States).sort());
  });

  it('changes an agent slot only in one transaction that also drops the item hold', () => {
    // Prepare
    const features = `\${${FEATURES_TABLE.placeholder}}`;
    const instances = `\${${INSTANCES_TABLE.placeholder}}`;

    // Act
    const slotWriters = states.filter(([, state]) =>
      JSON.stringify(state.Parameters ?? {}).includes(features),
    );

    // Assess
    expect(slotWriters.map(([name]) => name)).toEqual(['Release Capacity']);
    const [, release] = slotWriters[0] ?? [];
    expect(release?.Resource).toBe('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems');
    const items = release?.Parameters?.TransactItems as { Update: { TableName: string } }[];
    expect(items.map((item) => item.Update.TableName)).toEqual([instances, features]);
    // Its replay after a lost reply is cancelled, and caught as already released.
    expect(release?.Catch?.[0]).toMatchObject({ ErrorEquals: ['DynamoDb.TransactionCanceledException'] });
  });

  it("needs exactly these DynamoDB actions (a transaction needs its items' actions; it has no IAM action itself)", () => {
    // Act
    const needed = dynamoDbActionsByPlaceholder(raw);

    // Assess
    expect(Object.fromEntries(needed)).toEqual({
      [AUDIT_TABLE.placeholder]: ['dynamodb:PutItem'],
      [INSTANCES_TABLE.placeholder]: ['dynamodb:UpdateItem'],
      [FEATURES_TABLE.placeholder]: ['dynamodb:UpdateItem'],
    });
  });

  it('refuses to derive IAM for a DynamoDB task whose table is not a placeholder, naming the task', () => {
    // Prepare
    const asl = JSON.stringify({
      StartAt: 'Write',
      States: {
        Write: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
          Parameters: { TransactItems: [{ Update: { 'TableName.$': '$.table', Key: {} } }] },
          End: true,
        },
      },
    });

    // Act
    const derive = () => dynamoDbActionsByPlaceholder(asl);

    // Assess
    expect(derive).toThrow(/Task "Write": TableName must be a \$\{Placeholder\}/);
  });

  it('bounds the execution with a top-level timeout matching the definition', () => {
    expect(asl.TimeoutSeconds).toBe(PROCESS_INSTANCE.timeoutDays * 24 * 3600);
  });

  it('keeps the happy path within 12 state transitions', () => {
    const happyPath = [
      'Validate Item',
      'Is Valid?',
      'Score Item',
      'Decide Path',
      'Wait For Assignment',
      'Plan Completion Wait',
      'Emit Routed',
      'Audit Routing',
      'Wait For Completion',
      'Record Outcome',
      'Completed',
    ];
    for (let i = 0; i < happyPath.length - 1; i++) {
      const state = asl.States[happyPath[i] as string];
      const next = happyPath[i + 1];
      const reachable = [state?.Next, state?.Default, ...(state?.Choices ?? []).map((c) => c.Next)];
      expect(reachable, `${happyPath[i]} → ${next}`).toContain(next);
    }
    expect(happyPath.length).toBeLessThanOrEqual(12);
  });
});
