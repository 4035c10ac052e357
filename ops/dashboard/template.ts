import { DashboardBody } from './svg';

/**
 * The dashboard body of a synthesized template, with its CloudFormation tokens replaced by the
 * names they stand for (a Ref or GetAtt by its logical id, a pseudo parameter by a sample value),
 * so it parses as the JSON CloudWatch would receive.
 */
export function dashboardBodyFromTemplate(template: unknown): DashboardBody {
  const resources = (
    template as { Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> }
  ).Resources;
  const dashboard = Object.values(resources ?? {}).find(
    (resource) => resource.Type === 'AWS::CloudWatch::Dashboard',
  );
  if (dashboard === undefined) throw new Error('the template has no AWS::CloudWatch::Dashboard');
  const body = dashboard.Properties?.DashboardBody;
  const text =
    typeof body === 'string'
      ? body
      : ((body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] ?? []).map(tokenText).join('');
  return DashboardBody.parse(JSON.parse(text));
}

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '111122223333',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

function tokenText(part: unknown): string {
  if (typeof part === 'string') return part;
  const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (token.Ref !== undefined) return PSEUDO[token.Ref] ?? token.Ref;
  if (token['Fn::GetAtt'] !== undefined) return token['Fn::GetAtt'][0];
  return 'token';
}
