import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV, FUNCTIONS, type FunctionDefinition, type FunctionName } from '../../lib/definitions';
import { logicalIdOf, resourcesOfType, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();

function variablesOf(name: FunctionName): Record<string, unknown> {
  const logicalId = logicalIdOf(stack, stack.orchestration.functions[name]);
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`no function ${logicalId} in the template`);
  return (
    (found[1].Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

const functionEntries = Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][];

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

  it.each(functionEntries.filter(([, definition]) => definition.pseudonymises))(
    'gives PSEUDONYM_KEY to %s as a deploy-time reference to the secret',
    (name) => {
      const secret = stack.orchestration.pseudonymKey;
      if (secret === undefined) throw new Error('no pseudonym key secret');

      expect(variablesOf(name)[ENV.pseudonymKey]).toEqual({
        'Fn::Join': [
          '',
          ['{{resolve:secretsmanager:', { Ref: logicalIdOf(stack, secret) }, ':SecretString:::}}'],
        ],
      });
    },
  );

  it.each(functionEntries.filter(([, definition]) => !definition.pseudonymises))(
    'keeps the key from %s, which does not pseudonymise',
    (name) => {
      expect(variablesOf(name)[ENV.pseudonymKey]).toBeUndefined();
    },
  );
});
