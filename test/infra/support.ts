import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import { PROJECT_ROOT } from '../../lib/definitions';
import { FlowtuneStack, type FlowtuneStackProps } from '../../lib/flowtune-stack';
import { SKIP_ACKNOWLEDGEMENTS_CONTEXT } from '../../lib/nag';

const CdkJson = z.object({ context: z.record(z.string(), z.unknown()) });

/** The feature flags of cdk.json, so the tests synthesize what `cdk synth` synthesizes. */
export function cdkJsonContext(): Record<string, unknown> {
  return CdkJson.parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'))).context;
}

export interface SynthOptions extends FlowtuneStackProps {
  /** Synthesize without any cdk-nag acknowledgement, to see every finding. */
  readonly skipAcknowledgements?: boolean;
  /** CDK context beyond cdk.json's (e.g. the connector's endpoint). */
  readonly context?: Readonly<Record<string, string>>;
}

/** The stack as deployed with the optional connector on. */
export const WITH_CONNECTOR_CONTEXT: Readonly<Record<string, string>> = {
  'flowtune:connectorEndpoint': 'https://rpa.example.com/flowtune',
  'flowtune:connectorName': 'rpa',
};

export interface Synthesized {
  readonly app: App;
  readonly stack: FlowtuneStack;
  readonly template: Template;
}

/** The Flowtune stack as `bin/app.ts` builds it, with inline placeholder code instead of bundles. */
export function synthFlowtune(options: SynthOptions = {}): Synthesized {
  const { skipAcknowledgements = false, context = {}, ...props } = options;
  const app = new App({
    context: { ...cdkJsonContext(), ...context, [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: skipAcknowledgements },
  });
  const stack = new FlowtuneStack(app, 'Flowtune', { functionFactory: new TestFunctionFactory(), ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

/** CloudFormation resource as it appears in the template JSON. */
export interface CfnResourceJson {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export function resourcesOfType(template: Template, type: string): [string, CfnResourceJson][] {
  return Object.entries(template.findResources(type) as Record<string, CfnResourceJson>);
}

/** The logical id CDK gave a construct's CloudFormation resource (or the L1 resource itself). */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  if (CfnElement.isCfnElement(construct)) return stack.getLogicalId(construct);
  const child = construct.node.defaultChild;
  if (child === undefined || !CfnElement.isCfnElement(child)) {
    throw new Error(`${construct.node.path} has no default CloudFormation resource`);
  }
  return stack.getLogicalId(child);
}

const PolicyStatementSchema = z.object({
  Sid: z.string().optional(),
  Effect: z.enum(['Allow', 'Deny']),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
  Principal: z.unknown().optional(),
  Condition: z.unknown().optional(),
});
const PolicyDocumentSchema = z.object({ Statement: z.array(PolicyStatementSchema) });
const RefListSchema = z.array(z.object({ Ref: z.string() }));

export type PolicyStatementJson = z.infer<typeof PolicyStatementSchema>;

/** The statements of a policy document (identity, resource or key policy) of the template. */
export function statementsIn(policyDocument: unknown): PolicyStatementJson[] {
  return PolicyDocumentSchema.parse(policyDocument).Statement;
}

/** The logical ids of a list of `{ Ref }` (a policy's Roles, a queue policy's Queues...). */
export function refsIn(value: unknown): string[] {
  return RefListSchema.parse(value).map((entry) => entry.Ref);
}

/** Every statement of every identity policy in the template, with the policy's logical id. */
export function identityStatements(template: Template): { policy: string; statement: PolicyStatementJson }[] {
  return resourcesOfType(template, 'AWS::IAM::Policy').flatMap(([policy, resource]) =>
    statementsIn(resource.Properties?.PolicyDocument).map((statement) => ({ policy, statement })),
  );
}

export function actionsOf(statement: PolicyStatementJson): readonly string[] {
  return typeof statement.Action === 'string' ? [statement.Action] : statement.Action;
}

export function resourcesOf(statement: PolicyStatementJson): readonly unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** Statements of the identity policies attached to one role. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, resource]) => refsIn(resource.Properties?.Roles).includes(roleLogicalId))
    .flatMap(([, resource]) => statementsIn(resource.Properties?.PolicyDocument));
}

/** True when `statement` allows `action` on a resource that renders to `resource`. */
export function allows(statement: PolicyStatementJson, action: string, resource: unknown): boolean {
  return (
    statement.Effect === 'Allow' &&
    actionsOf(statement).includes(action) &&
    resourcesOf(statement).some((candidate) => JSON.stringify(candidate) === JSON.stringify(resource))
  );
}
