import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Flowtune, type FlowtuneProps } from './flowtune';

export { EMULATOR_GAPS, EMULATORS, type Emulator, type EmulatorSupport } from './flowtune';

export interface FlowtuneStackProps extends StackProps, FlowtuneProps {}

/**
 * Flowtune as a ready app's stack: one `Flowtune` construct and nothing else. It sits under the
 * id `Default`, which CDK leaves out of logical ids, so every resource keeps the logical id it had
 * when the stack held the resources itself and an existing deployment updates in place.
 *
 * @example
 * new FlowtuneStack(app, 'Flowtune', { env: { account, region } });
 */
export class FlowtuneStack extends Stack {
  readonly flowtune: Flowtune;

  constructor(scope: Construct, id: string, props: FlowtuneStackProps = {}) {
    super(scope, id, props);
    this.flowtune = new Flowtune(this, 'Default', props);
  }

  get ingest() {
    return this.flowtune.ingest;
  }
  get storage() {
    return this.flowtune.storage;
  }
  get orchestration() {
    return this.flowtune.orchestration;
  }
  get observability() {
    return this.flowtune.observability;
  }
  get opsApi() {
    return this.flowtune.opsApi;
  }
  get tuning() {
    return this.flowtune.tuning;
  }
  get allocation() {
    return this.flowtune.allocation;
  }
}
