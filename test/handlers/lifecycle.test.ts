import { describe, expect, it } from 'vitest';
import { AssignmentResult, CompletionResult, ProcessInput } from '../../domain/process';
import { updateHandlingStats } from '../../domain/scoring';
import { createAgentStatusHandler } from '../../lambdas/agent-status/handler';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createDispatcherHandler } from '../../lambdas/dispatcher/handler';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createParkHandler } from '../../lambdas/park/handler';
import { createRecordOutcomeHandler } from '../../lambdas/record-outcome/handler';
import { createScoreHandler } from '../../lambdas/score/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { createValidateHandler } from '../../lambdas/validate/handler';
import { loadEvent, sqsEvent } from './support';

/**
 * One work item through every handler, in the order the process-instance state machine calls
 * them, sharing one in-memory world: what each step hands the next must fit.
 */
describe('a work item through all handlers', () => {
  it('is received, validated, scored, assigned, parked, completed and recorded, freeing the agent', async () => {
    // Prepare
    const world = createInMemoryPorts(Date.parse('2026-11-20T08:55:00Z'));
    const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
    const deps = { ...world, pseudonymise };
    const observations = Array.from({ length: 40 }, (_, index) => 900 + (index % 7) * 60);
    for (const key of [{ scope: 'global' as const }, { scope: 'category' as const, category: 'billing' }]) {
      for (const seconds of observations) {
        await world.features.updateHandlingStats(key, (current) => updateHandlingStats(current, seconds));
      }
    }
    await createAgentStatusHandler(deps)(loadEvent('workforce/agent-status-changed'));

    // Act
    world.clock.set(Date.parse('2026-11-20T09:00:02Z'));
    await createIntakeHandler(deps)(sqsEvent([loadEvent('helpdesk/work-item-created')]));
    const input = ProcessInput.parse(world.executions.executions.get('HD-10428'));

    const validation = await createValidateHandler(deps)({
      detailType: input.detailType,
      detail: input.detail,
    });
    if (!validation.ok) throw new Error(`validation failed: ${validation.field}`);

    world.clock.set(Date.parse('2026-11-20T09:00:03Z'));
    const scoring = await createScoreHandler(deps)({ item: validation.item, attempt: input.routing.attempt });

    world.clock.set(Date.parse('2026-11-20T09:00:05Z'));
    const assignmentToken = world.executions.issueToken('assignment');
    await createDispatcherHandler(deps)(
      sqsEvent(
        [
          {
            kind: 'enqueue',
            taskToken: assignmentToken,
            itemId: input.itemId,
            category: validation.item.category,
            requiredSkills: validation.item.requiredSkills,
            priority: validation.item.priority,
            createdAt: validation.item.createdAt,
            slaDueAt: validation.item.slaDueAt,
            attempt: 1,
            excludedAgents: [],
            enqueuedAt: '2026-11-20T09:00:04.000Z',
          },
        ],
        { fifo: true },
      ),
    );
    const assignmentState = world.executions.tokenState(assignmentToken);
    if (assignmentState?.state !== 'succeeded')
      throw new Error('the dispatcher did not resume the assignment wait');
    const assignment = AssignmentResult.parse(assignmentState.output);

    world.clock.set(Date.parse('2026-11-20T09:00:06Z'));
    const completionToken = world.executions.issueToken('completion');
    await createParkHandler(deps)({
      waitingFor: 'completion',
      taskToken: completionToken,
      itemId: input.itemId,
      attempt: 1,
      agentId: assignment.agentId,
      context: {},
    });
    const activeWhileWorking = (await world.features.getAgent('agent-ana'))?.activeCount;

    world.clock.set(Date.parse('2026-11-20T09:40:05Z'));
    await createCompletionHandler(deps)(loadEvent('helpdesk/work-item-completed'));
    const completionState = world.executions.tokenState(completionToken);
    if (completionState?.state !== 'succeeded') throw new Error('the completion did not resume the wait');

    const outcome = await createRecordOutcomeHandler(deps)({
      itemId: input.itemId,
      item: validation.item,
      scoring,
      assignment,
      completion: CompletionResult.parse(completionState.output),
      attempt: 1,
    });

    // Assess
    expect(scoring.decision.path).toBe('routing');
    expect(assignment.agentId).toBe('agent-ana');
    expect(activeWhileWorking).toBe(1);
    expect(outcome).toMatchObject({
      slaMet: true,
      handleSeconds: 1800,
      waitSeconds: 1,
      capacityReleased: true,
    });
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    expect((await world.features.readHandlingFeatures()).byCategoryAgent['billing#agent-ana']?.count).toBe(1);
    expect(await world.instances.get('HD-10428')).toMatchObject({ stage: 'COMPLETED' });
    const kinds = new Set((await world.audit.listForItem('HD-10428')).map((record) => record.kind));
    expect([...kinds].sort()).toEqual(
      ['ASSIGNED', 'COMPLETED', 'COMPLETION_RECEIVED', 'COMPLETION_WAIT', 'RECEIVED', 'SCORED'].sort(),
    );
    expect(JSON.stringify(world.audit.all())).not.toContain('cust-88213');
  });
});
