import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dashboardBody,
  dashboardPanels,
  formatValue,
  type GraphPanel,
  niceCeiling,
  type PictureRun,
  readableAlarmNames,
  renderDashboardPicture,
  seriesValue,
  writeDashboardPicture,
} from '../local/dashboard-picture.js';
import type { AlarmDefinition, AlarmVerdict, Datapoint } from '../local/demo.js';

const SERVICE = 'TikTokShopTokenRefresher-CD6978A2';

/** A dashboard as the synthesized template holds it (trimmed to a widget of each kind). */
const BODY_PARTS: unknown[] = [
  '{"start":"-P7D","periodOverride":"inherit","widgets":[',
  '{"type":"alarm","width":24,"height":3,"x":0,"y":0,"properties":{"title":"Alarms","alarms":["',
  { 'Fn::GetAtt': ['RefresherTokenExpiryAlarm1AD69C27', 'Arn'] },
  '","',
  { 'Fn::GetAtt': ['RefresherFailedInvocationsAlarm44B405CB', 'Arn'] },
  '"]}},',
  '{"type":"metric","width":12,"height":6,"x":0,"y":3,"properties":{"view":"timeSeries","title":"Shops per run","region":"',
  { Ref: 'AWS::Region' },
  `","stacked":true,"metrics":[["TikTokShopTokens","TokensRefreshed","service","${SERVICE}",{"color":"#2ca02c","label":"refreshed","period":3600,"stat":"Sum"}],["TikTokShopTokens","RefreshFailures","service","${SERVICE}",{"color":"#d62728","label":"failed & <retried>","period":3600,"stat":"Sum"}]],"yAxis":{"left":{"label":"shops","min":0}}}},`,
  '{"type":"metric","width":12,"height":6,"x":12,"y":3,"properties":{"view":"timeSeries","title":"Smallest lifetime (hours)","region":"',
  { Ref: 'AWS::Region' },
  `","metrics":[[{"label":"smallest lifetime","color":"#1f77b4","expression":"lifetime / 3600","period":3600}],["TikTokShopTokens","MinAccessTokenLifetimeSeconds","service","${SERVICE}",{"id":"lifetime","visible":false,"period":3600,"stat":"Minimum"}]],"annotations":{"horizontal":[{"value":24,"label":"expiry alarm: below 1 day","color":"#d62728","fill":"below","yAxis":"left"}]},"yAxis":{"left":{"label":"hours","min":0}}}},`,
  '{"type":"metric","width":12,"height":6,"x":0,"y":9,"properties":{"view":"timeSeries","title":"Longest run (seconds)","region":"',
  { Ref: 'AWS::Region' },
  '","metrics":[[{"label":"longest run","expression":"duration / 1000","period":3600}],["AWS/Lambda","Duration","FunctionName","',
  { Ref: 'RefresherFunction4AAAAD8B' },
  '",{"id":"duration","visible":false,"period":3600,"stat":"Maximum"}]]}},',
  '{"type":"metric","width":12,"height":6,"x":12,"y":9,"properties":{"view":"timeSeries","title":"Dead-letter queues","region":"',
  { Ref: 'AWS::Region' },
  '","metrics":[["AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","',
  { 'Fn::GetAtt': ['RefresherFailureQueue90B28D42', 'QueueName'] },
  '",{"label":"runs failed after retries","period":3600,"stat":"Maximum"}]]}}',
  ']}',
];

function templateWith(parts: unknown[]): unknown {
  return {
    Resources: {
      RefresherDashboard08DC197E: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: { DashboardBody: { 'Fn::Join': ['', parts] } },
      },
      RefresherAlarmTopicF4C75DE2: { Type: 'AWS::SNS::Topic', Properties: {} },
    },
  };
}

const TEMPLATE = templateWith(BODY_PARTS);

const point = (name: string, value: number, service = SERVICE): Datapoint => ({
  namespace: 'TikTokShopTokens',
  name,
  dimensions: { service },
  value,
});

function verdict(name: string, state: AlarmVerdict['state']): AlarmVerdict {
  return { alarm: { name } as AlarmDefinition, state };
}

const RUNS: PictureRun[] = [
  {
    title: 'Run 1 — as the schedule runs it',
    datapoints: [
      point('TokensRefreshed', 2),
      point('RefreshFailures', 1),
      point('MinAccessTokenLifetimeSeconds', 18_000),
      point('MinAccessTokenLifetimeSeconds', 99_999, 'another-service'),
      {
        namespace: 'AWS/Lambda',
        name: 'Duration',
        dimensions: { FunctionName: 'Ref(RefresherFunction4AAAAD8B)' },
        value: 7_680,
      },
    ],
    verdicts: [
      verdict('RefresherTokenExpiryAlarm', 'ALARM'),
      verdict('RefresherFailedInvocationsAlarm', 'NOT_EVALUATED'),
    ],
  },
  {
    title: 'Run 2 — as a person runs it',
    datapoints: [point('TokensRefreshed', 1), point('RefreshFailures', 0)],
    verdicts: [verdict('RefresherTokenExpiryAlarm', 'OK')],
  },
];

function panelsOf(template: unknown) {
  const body = dashboardBody(template);
  if (body === undefined) throw new Error('no dashboard');
  return dashboardPanels(body);
}

function graphTitled(title: string): GraphPanel {
  const panel = panelsOf(TEMPLATE).find((entry) => entry.title === title);
  if (panel?.kind !== 'graph') throw new Error(`no graph ${title}`);
  return panel;
}

describe('Function: dashboardBody', () => {
  it('joins the body, naming references and attributes as the demo names resources', () => {
    // Act
    const body = dashboardBody(TEMPLATE);

    // Assess
    const widgets = body?.widgets as { properties: Record<string, unknown> }[];
    expect(widgets[0]?.properties.alarms).toEqual([
      'GetAtt(RefresherTokenExpiryAlarm1AD69C27.Arn)',
      'GetAtt(RefresherFailedInvocationsAlarm44B405CB.Arn)',
    ]);
    expect(widgets[1]?.properties.region).toBe('Ref(AWS::Region)');
  });

  it('finds nothing in a template without a dashboard', () => {
    // Assess
    expect(dashboardBody({ Resources: {} })).toBeUndefined();
  });

  it('refuses an intrinsic it cannot name', () => {
    // Act
    const read = () => dashboardBody(templateWith(['{"a":"', { 'Fn::Sub': 'x' }, '"}']));

    // Assess
    expect(read).toThrow('unexpected intrinsic in DashboardBody: {"Fn::Sub":"x"}');
  });
});

describe('Function: dashboardPanels', () => {
  it('reads the layout, the metrics with their statistic, and the annotations', () => {
    // Act
    const panels = panelsOf(TEMPLATE);

    // Assess
    expect(
      panels.map(({ kind, title, x, y, width, height }) => [kind, title, x, y, width, height]),
    ).toEqual([
      ['alarms', 'Alarms', 0, 0, 24, 3],
      ['graph', 'Shops per run', 0, 3, 12, 6],
      ['graph', 'Smallest lifetime (hours)', 12, 3, 12, 6],
      ['graph', 'Longest run (seconds)', 0, 9, 12, 6],
      ['graph', 'Dead-letter queues', 12, 9, 12, 6],
    ]);
    expect(panels[0]).toMatchObject({
      alarmIds: ['RefresherTokenExpiryAlarm1AD69C27', 'RefresherFailedInvocationsAlarm44B405CB'],
    });
    expect(graphTitled('Shops per run')).toMatchObject({ stacked: true, unit: 'shops' });
    expect(graphTitled('Smallest lifetime (hours)')).toMatchObject({
      stacked: false,
      series: [
        {
          label: 'smallest lifetime',
          source: {
            namespace: 'TikTokShopTokens',
            metricName: 'MinAccessTokenLifetimeSeconds',
            dimensions: { service: SERVICE },
            stat: 'Minimum',
          },
          scale: 1 / 3600,
        },
      ],
      annotations: [
        { label: 'expiry alarm: below 1 day', value: 24, color: '#d62728', fillBelow: true },
      ],
    });
    expect(graphTitled('Dead-letter queues').series[0]?.source.dimensions).toEqual({
      QueueName: undefined,
    });
  });

  it('refuses a widget it cannot draw, so the picture never leaves a figure out', () => {
    // Prepare
    const text = '{"widgets":[{"type":"text","properties":{"markdown":"# Hi","title":"Notes"}}]}';

    // Act
    const read = () => panelsOf(templateWith([text]));

    // Assess
    expect(read).toThrow('the picture cannot draw the text widget "Notes"');
  });

  it('refuses an expression other than a unit conversion', () => {
    // Prepare
    const body = `{"widgets":[{"type":"metric","properties":{"view":"timeSeries","title":"T","metrics":[[{"expression":"SUM(METRICS())"}],["N","M","service","${SERVICE}",{"id":"m1","visible":false}]]}}]}`;

    // Act
    const read = () => panelsOf(templateWith([body]));

    // Assess
    expect(read).toThrow('the picture cannot compute the expression "SUM(METRICS())"');
  });
});

describe('Function: seriesValue', () => {
  it("applies the series' statistic and unit to the run's datapoints of this service only", () => {
    // Prepare
    const [lifetime] = graphTitled('Smallest lifetime (hours)').series;
    const [duration] = graphTitled('Longest run (seconds)').series;

    // Act
    const hours = lifetime && seriesValue(lifetime, RUNS[0] as PictureRun);
    const seconds = duration && seriesValue(duration, RUNS[0] as PictureRun);

    // Assess
    expect(hours).toBe(5);
    expect(seconds).toBeCloseTo(7.68);
  });

  it('has no value for a run without a datapoint of the metric', () => {
    // Prepare
    const [lifetime] = graphTitled('Smallest lifetime (hours)').series;

    // Act
    const value = lifetime && seriesValue(lifetime, RUNS[1] as PictureRun);

    // Assess
    expect(value).toBeUndefined();
  });
});

describe('Function: readableAlarmNames', () => {
  it('drops the shared construct prefix, the hash and the Alarm suffix, and spaces the words', () => {
    // Act
    const names = readableAlarmNames([
      'RefresherReauthorizationRequiredAlarm21653250',
      'RefresherTokenExpiryAlarm1AD69C27',
      'RefresherFunctionErrorsAlarm72456DB6',
    ]);

    // Assess
    expect(names).toEqual(['Reauthorization Required', 'Token Expiry', 'Function Errors']);
  });
});

describe('Functions: niceCeiling, formatValue', () => {
  it('tops an axis at 1, 2, 4, 6 or 8 times a power of ten', () => {
    // Assess
    expect([0, 1, 1.08, 4.3, 181, 324].map(niceCeiling)).toEqual([2, 1, 2, 6, 200, 400]);
  });

  it('prints whole numbers as they are and fractions to a useful precision', () => {
    // Assess
    expect([4, 168.4, 4.998, 0.187].map(formatValue)).toEqual(['4', '168', '5.0', '0.19']);
  });
});

describe('Function: renderDashboardPicture', () => {
  const svg = renderDashboardPicture(TEMPLATE, RUNS);

  it("draws every widget's title, each run's title, and every series in a legend", () => {
    // Assess
    for (const title of [
      'Alarms',
      'Shops per run',
      'Smallest lifetime (hours)',
      'Longest run (seconds)',
      'Dead-letter queues',
      'Run 1 — as the schedule runs it',
      'Run 2 — as a person runs it',
      'smallest lifetime',
      'longest run',
    ]) {
      expect(svg).toContain(`>${title}</text>`);
    }
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('labels the stacked outcomes and the values against the annotated threshold', () => {
    // Assess
    expect(svg).toContain('>refreshed: 2</text>');
    expect(svg).toContain('>expiry alarm: below 1 day (24)</text>');
    expect(svg).toContain('>5</text>');
    expect(svg).toContain('>7.7</text>');
  });

  it("shows each alarm's state after each run, and says which has no local data", () => {
    // Assess
    expect(svg).toContain('>Token Expiry</text>');
    expect(svg).toContain('>Run 1: ALARM</text>');
    expect(svg).toContain('>Run 2: OK</text>');
    expect(svg).toContain('>Run 1: no local data</text>');
  });

  it('says which graph has no local counterpart instead of drawing empty bars', () => {
    // Assess
    expect(svg).toContain('>No local counterpart: AWS/SQS metrics exist in AWS only</text>');
    expect(svg).toContain('>runs failed after retries (AWS only)</text>');
  });

  it('escapes text for XML', () => {
    // Assess
    expect(svg).toContain('failed &#38; &#60;retried&#62;');
    expect(svg).not.toContain('<retried>');
  });

  it('refuses a template without a dashboard', () => {
    // Act
    const render = () => renderDashboardPicture({ Resources: {} }, RUNS);

    // Assess
    expect(render).toThrow('the template has no dashboard to draw');
  });
});

describe('Function: writeDashboardPicture', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the picture as dashboard.svg and answers its path', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'dashboard-picture-'));

    // Act
    const path = writeDashboardPicture(TEMPLATE, RUNS, dir);

    // Assess
    expect(path).toBe(join(dir, 'dashboard.svg'));
    expect(readFileSync(path, 'utf8')).toBe(renderDashboardPicture(TEMPLATE, RUNS));
  });
});
