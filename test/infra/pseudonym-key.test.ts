import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lib/definitions';
import { compliancePacks } from '../../lib/nag';
import { logicalIdOf, resourcesOfType, synthFlowtune } from './support';

// The definitions do not flag any function as pseudonymising yet: this file flags `validate`,
// to prove the wiring that takes effect once lib/definitions/functions.ts carries the flag.
vi.mock('../../lib/definitions/functions', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/definitions/functions')>();
  return {
    ...original,
    FUNCTIONS: { ...original.FUNCTIONS, validate: { ...original.FUNCTIONS.validate, pseudonymises: true } },
  };
});

const { app, stack, template } = synthFlowtune();

function variablesOf(logicalId: string): Record<string, unknown> {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`no function ${logicalId} in the template`);
  return (
    (found[1].Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

describe('pseudonym key', () => {
  it('generates the key as a retained secret, never as a template literal', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
        Description: Match.anyValue(),
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('gives PSEUDONYM_KEY to a pseudonymising function as a deploy-time reference to the secret', () => {
    const secret = stack.orchestration.pseudonymKey;
    if (secret === undefined) throw new Error('no pseudonym key secret');

    const variables = variablesOf(logicalIdOf(stack, stack.orchestration.functions.validate));

    expect(variables[ENV.pseudonymKey]).toEqual({
      'Fn::Join': [
        '',
        ['{{resolve:secretsmanager:', { Ref: logicalIdOf(stack, secret) }, ':SecretString:::}}'],
      ],
    });
  });

  it('keeps the key from functions that do not pseudonymise', () => {
    const variables = variablesOf(logicalIdOf(stack, stack.orchestration.functions.score));

    expect(variables[ENV.pseudonymKey]).toBeUndefined();
  });

  it('still reports no unacknowledged cdk-nag finding', () => {
    const violations = compliancePacks().flatMap((pack) => pack.validateScope(app).violations);

    expect(violations).toEqual([]);
  });
});
