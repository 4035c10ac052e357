import { assertEndpointAnswers, readDeployedTarget } from './deployed-stack';

/**
 * Runs before any deployed test: without an endpoint, a stack's outputs or an answer at the
 * endpoint there is nothing to test, and the run fails with a message that says what to do
 * rather than passing with nothing tested.
 */
export default async function checkDeployedTarget(): Promise<void> {
  const target = readDeployedTarget(process.env);
  await assertEndpointAnswers(target.endpoint);
  console.log(
    `deployed suite: stack ${target.stackName} at ${target.endpoint} (${target.region}), outputs from ${target.outputsFile}`,
  );
}
