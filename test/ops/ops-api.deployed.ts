import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_POLICY } from '../../domain/policy';
import { OpsApiError, OpsClient } from '../../ops/cli/client';
import { sigV4Signer } from '../../ops/cli/signing';
import { type DeployedTarget, readDeployedTarget } from '../deployed/deployed-stack';

/**
 * The operations API as deployed: API Gateway with IAM authorisation in front of the ops
 * function, against the stack on a LocalStack-compatible endpoint (MiniStack in CI), reached at
 * the emulator's `/restapis/<id>/<stage>/_user_request_/` address and signed as the CLI signs.
 */

let target: DeployedTarget;
let base: string;
let signed: OpsClient;

beforeAll(() => {
  target = readDeployedTarget(process.env);
  const outputs = z
    .record(z.string(), z.record(z.string(), z.string()))
    .parse(JSON.parse(readFileSync(target.outputsFile, 'utf8')));
  const apiId = outputs[target.stackName]?.OpsApiId;
  if (apiId === undefined) throw new Error(`stack ${target.stackName} has no OpsApiId output: redeploy it`);
  base = `${target.endpoint.replace(/\/$/, '')}/restapis/${apiId}/v1/_user_request_/`;
  signed = new OpsClient({
    endpoint: base,
    signer: sigV4Signer({ region: target.region, credentials: target.credentials }),
  });
});

describe('the deployed operations API', () => {
  it('refuses an unsigned request before the function runs, with a JSON error', async () => {
    const response = await fetch(`${base}bottlenecks`);

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'MISSING_AUTHENTICATION_TOKEN' });
  });

  it('serves the bottleneck view and the pending tasks to a signed caller', async () => {
    const view = await signed.bottlenecks();
    const tasks = await signed.tasks(5);

    expect(view.stages.map((cell) => cell.stage)).toContain('HUMAN_REVIEW');
    expect(Array.isArray(tasks.tasks)).toBe(true);
  });

  it('answers 404 for an unknown item and 400 naming the field for a body without a reason', async () => {
    await expect(signed.itemStatus('OPS-never-created')).rejects.toMatchObject({
      status: 404,
      code: 'NotFound',
    });
    // Made only now: a rejection that settles while an earlier await runs would count as unhandled.
    const invalid = signed.approve('OPS-never-created', {} as { reason: string });

    await expect(invalid).rejects.toBeInstanceOf(OpsApiError);
    await expect(invalid).rejects.toMatchObject({ status: 400, code: 'InvalidRequest' });
  });

  it('stores a policy proposal under the signed caller and refuses to let the same caller approve it', async () => {
    const version = `ops-deployed-${Date.now().toString(36)}`;

    const proposal = await signed.proposePolicy({
      policy: { ...DEFAULT_POLICY, version, maxReroutes: 2 },
      rationale: 'deployed suite: one more re-route before escalation',
    });
    const ownApproval = signed.approvePolicy(version, { reason: 'approving my own' });

    expect(proposal).toMatchObject({ version, status: 'proposed', changes: ['maxReroutes'] });
    expect(proposal.proposedBy).not.toBe('');
    await expect(ownApproval).rejects.toMatchObject({ status: 409, code: 'ApprovalNotAllowed' });
    const listed = await signed.policyProposals();
    expect(listed.active.version).not.toBe(version);
  });

  it('starts an A/B experiment under the signed caller, refuses a second one, shows its status and stops it', async () => {
    // Prepare: a run that failed half-way may have left its experiment running.
    const before = await signed.experiments();
    if (before.current?.status === 'running' && before.current.experimentId.startsWith('deployed-')) {
      await signed.stopExperiment(before.current.experimentId, { reason: 'left running by an earlier run' });
    }
    const stamp = Date.now().toString(36);
    const experimentId = `deployed-${stamp}`;
    const candidate = {
      ...DEFAULT_POLICY,
      version: `exp-deployed-${stamp}`,
      routing: { strategy: 'edf' as const, weights: {} },
    };

    // Act
    const started = await signed.startExperiment({
      candidate,
      kind: 'ab',
      split: 0.1,
      stopping: { maxDurationMinutes: 30 },
      experimentId,
      reason: 'deployed suite: start and stop through the API',
    });
    const second = signed.startExperiment({
      candidate: { ...candidate, version: `exp-deployed-${stamp}-b` },
      kind: 'shadow',
      experimentId: `${experimentId}-b`,
      reason: 'a second one while the first runs',
    });
    await expect(second).rejects.toMatchObject({ status: 409, code: 'ExperimentRunning' });
    const status = await signed.experimentStatus(experimentId);
    const stopped = await signed.stopExperiment(experimentId, { reason: 'deployed suite: done' });
    const after = await signed.experimentStatus(experimentId);

    // Assess
    expect(started).toMatchObject({
      experimentId,
      action: 'started',
      status: 'running',
      candidateVersion: candidate.version,
    });
    expect(started.actor).not.toBe('');
    expect(status).toMatchObject({
      experimentId,
      kind: 'ab',
      split: 0.1,
      status: 'running',
      decision: 'continue',
    });
    expect(status.next.some((line) => line.startsWith('ends inconclusive'))).toBe(true);
    expect(stopped).toMatchObject({
      experimentId,
      action: 'stopped',
      status: 'stopped',
      actor: started.actor,
    });
    expect(after.status).toBe('stopped');
    expect((await signed.experiments()).experiments.map((entry) => entry.experimentId)).toContain(
      experimentId,
    );
  });
});
