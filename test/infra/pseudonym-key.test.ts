import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV, FUNCTIONS, type FunctionDefinition, type FunctionName } from '../../lib/definitions';
import { allows, logicalIdOf, resourcesOfType, statementsOfRole, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();

function variablesOf(name: FunctionName): Record<string, unknown> {
  const logicalId = logicalIdOf(stack, stack.orchestration.functions[name]);
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`no function ${logicalId} in the template`);
  return (
    (found[1].Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

function secret() {
  const key = stack.orchestration.pseudonymKey;
  if (key === undefined) throw new Error('no pseudonym key secret');
  return key;
}

const functionEntries = Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][];

describe('pseudonym key', () => {
  it('generates the key as a retained secret under the config key, never as a template literal', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
        Description: Match.anyValue(),
        KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(stack, stack.storage.configKey), 'Arn'] },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it.each(functionEntries.filter(([, definition]) => definition.pseudonymises))(
    'tells %s only where the key is, and lets it read exactly that secret at run time',
    (name) => {
      const secretArn = { Ref: logicalIdOf(stack, secret()) };
      const variables = variablesOf(name);
      const role = stack.orchestration.functions[name].role;
      if (role === undefined) throw new Error(`${name} has no role`);
      const statements = statementsOfRole(template, logicalIdOf(stack, role));

      expect(variables[ENV.pseudonymKeySecretId]).toEqual(secretArn);
      // No variable carries the key, resolved or as a dynamic reference.
      expect(JSON.stringify(variables)).not.toContain('{{resolve:secretsmanager');
      expect(
        statements.some((statement) => allows(statement, 'secretsmanager:GetSecretValue', secretArn)),
      ).toBe(true);
    },
  );

  it.each(functionEntries.filter(([, definition]) => !definition.pseudonymises))(
    'keeps %s, which does not pseudonymise, away from the key',
    (name) => {
      const secretArn = { Ref: logicalIdOf(stack, secret()) };
      const role = stack.orchestration.functions[name].role;
      if (role === undefined) throw new Error(`${name} has no role`);

      expect(variablesOf(name)[ENV.pseudonymKeySecretId]).toBeUndefined();
      expect(
        statementsOfRole(template, logicalIdOf(stack, role)).some((statement) =>
          allows(statement, 'secretsmanager:GetSecretValue', secretArn),
        ),
      ).toBe(false);
    },
  );
});
