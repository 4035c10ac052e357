import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_PICTURE, renderStackDashboard } from '../../ops/dashboard/render-dashboard';
import { DashboardBody, escapeXml, renderDashboardSvg } from '../../ops/dashboard/svg';
import { dashboardBodyFromTemplate } from '../../ops/dashboard/template';

const body = DashboardBody.parse({
  widgets: [
    { type: 'text', x: 0, y: 0, width: 24, height: 2, properties: { markdown: '# Ops <live> & "well"' } },
    {
      type: 'metric',
      x: 12,
      y: 2,
      width: 12,
      height: 6,
      properties: {
        title: 'Backlog',
        metrics: [
          [
            'Flowtune',
            'BacklogItems',
            'service',
            'flowtune-ops-api',
            'stage',
            'HUMAN_REVIEW',
            { label: 'HUMAN_REVIEW' },
          ],
          [{ expression: 'FILL(m, 0)', visible: false, id: 'hidden' }],
        ],
        annotations: { horizontal: [{ value: 90, label: 'target' }] },
      },
    },
  ],
});

describe('the dashboard picture', () => {
  it('draws each widget where CloudWatch lays it out on the 24-column grid, with its visible series', () => {
    const svg = renderDashboardSvg(body);

    expect(svg.match(/<g class="widget /g)).toHaveLength(2);
    expect(svg).toContain('<rect x="568" y="76" width="546" height="174"');
    expect(svg).toContain('>HUMAN_REVIEW</text>');
    expect(svg).not.toContain('FILL(m, 0)');
    expect(svg).toContain('>target 90</text>');
  });

  it('escapes text so titles and markdown cannot break the XML', () => {
    expect(renderDashboardSvg(body)).toContain('Ops &lt;live&gt; &amp; &quot;well&quot;');
    expect(escapeXml(`<a href='x'>&</a>`)).toBe('&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;');
  });

  it('reads the dashboard body out of a synthesized template, tokens named by their logical ids', () => {
    const template = {
      Resources: {
        Board: {
          Type: 'AWS::CloudWatch::Dashboard',
          Properties: {
            DashboardBody: {
              'Fn::Join': [
                '',
                [
                  '{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":1,"properties":{"markdown":"',
                  { Ref: 'AWS::Region' },
                  ' ',
                  { 'Fn::GetAtt': ['Queue1', 'QueueName'] },
                  '"}}]}',
                ],
              ],
            },
          },
        },
      },
    };

    expect(dashboardBodyFromTemplate(template).widgets[0]?.properties.markdown).toBe('us-east-1 Queue1');
  });

  it('is up to date in docs/dashboard.svg (regenerate with npm run ops:dashboard)', () => {
    expect(readFileSync(DASHBOARD_PICTURE, 'utf8')).toBe(renderStackDashboard());
  });
});
