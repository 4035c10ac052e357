import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FLOWTUNE_SOURCE, INBOUND_EVENTS } from '../../domain/events';
import { compliancePacks } from '../../lib/nag';
import { logicalIdOf, resourcesOfType, synthFlowtune } from './support';

const ACCOUNTS = ['111122223333', '444455556666'];
const ORGANIZATION = 'o-a1b2c3d4e5';

function busPolicyStatements(template: Template): Record<string, unknown>[] {
  return resourcesOfType(template, 'AWS::Events::EventBusPolicy').map(([, resource]) => ({
    ...(resource.Properties?.Statement as Record<string, unknown>),
    EventBusName: resource.Properties?.EventBusName,
  }));
}

describe('producers in other accounts', () => {
  const { app, stack, template } = synthFlowtune({
    producers: { accountIds: ACCOUNTS, organizationId: ORGANIZATION },
  });
  const busRef = { Ref: logicalIdOf(stack, stack.ingest.inboundBus) };
  const busArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.ingest.inboundBus), 'Arn'] };
  const inbound = Object.keys(INBOUND_EVENTS);

  it('lets the named accounts put the inbound detail-types, never as source flowtune', () => {
    const statement = busPolicyStatements(template).find(
      (entry) => entry.Sid === 'cdk-InboundFromProducerAccounts',
    );

    expect(statement).toEqual({
      Sid: 'cdk-InboundFromProducerAccounts',
      Effect: 'Allow',
      Principal: {
        AWS: ACCOUNTS.map((id) => ({
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${id}:root`]],
        })),
      },
      Action: 'events:PutEvents',
      Resource: busArn,
      Condition: {
        StringEquals: { 'events:detail-type': inbound },
        StringNotEquals: { 'events:source': FLOWTUNE_SOURCE },
      },
      EventBusName: busRef,
    });
  });

  it('lets every account of the organization do the same, through aws:PrincipalOrgID', () => {
    const statement = busPolicyStatements(template).find(
      (entry) => entry.Sid === 'cdk-InboundFromProducerOrganization',
    );

    expect(statement).toMatchObject({
      Principal: { AWS: '*' },
      Action: 'events:PutEvents',
      Resource: busArn,
      Condition: {
        StringEquals: { 'events:detail-type': inbound, 'aws:PrincipalOrgID': ORGANIZATION },
        StringNotEquals: { 'events:source': FLOWTUNE_SOURCE },
      },
    });
  });

  it('allows nothing but PutEvents of inbound detail-types to anyone outside the account', () => {
    for (const statement of busPolicyStatements(template)) {
      expect(statement.Action).toBe('events:PutEvents');
      expect((statement.Condition as { StringEquals: Record<string, unknown> }).StringEquals).toHaveProperty(
        'events:detail-type',
        inbound,
      );
    }
    expect(busPolicyStatements(template)).toHaveLength(2);
  });

  it('stays cdk-nag clean', () => {
    const findings = compliancePacks().flatMap((pack) => pack.validateScope(app).violations);

    expect(findings.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('has no bus policy when no producer is named', () => {
    expect(resourcesOfType(synthFlowtune().template, 'AWS::Events::EventBusPolicy')).toEqual([]);
  });

  it('refuses ids that are not account or organization ids, showing the value and the form expected', () => {
    expect(() => synthFlowtune({ producers: { accountIds: ['1111-2222-3333'] } })).toThrow(
      /12-digit AWS account ids; got "1111-2222-3333"/,
    );
    expect(() => synthFlowtune({ producers: { organizationId: 'r-abcd' } })).toThrow(
      /AWS Organization id such as o-a1b2c3d4e5.*got "r-abcd"/,
    );
    expect(() => synthFlowtune({ producers: {} })).toThrow(/names no one/);
  });
});
