import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import { PROJECT_ROOT } from '../../lib/definitions';
import { FlowtuneStack } from '../../lib/flowtune-stack';
import { renderDashboardSvg } from './svg';
import { dashboardBodyFromTemplate } from './template';

/**
 * `npm run ops:dashboard`: synthesizes the stack (without bundling) and draws its CloudWatch
 * dashboard into docs/dashboard.svg, the picture docs/operations.md shows.
 */

/** The SVG of the dashboard the stack synthesizes today. */
export function renderStackDashboard(): string {
  const context = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
  const app = new App({ context });
  const stack = new FlowtuneStack(app, 'Flowtune', { functionFactory: new TestFunctionFactory() });
  const template = app.synth().getStackByName(stack.stackName).template;
  return renderDashboardSvg(dashboardBodyFromTemplate(template), { title: 'Flowtune operations dashboard' });
}

export const DASHBOARD_PICTURE = join(PROJECT_ROOT, 'docs', 'dashboard.svg');

if (process.argv[1]?.endsWith('render-dashboard.ts')) {
  writeFileSync(DASHBOARD_PICTURE, renderStackDashboard());
  process.stdout.write(`wrote ${DASHBOARD_PICTURE}\n`);
}
