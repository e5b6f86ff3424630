import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import type { TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import { METRIC, METRICS_NAMESPACE } from '../../lambda/shared/contract.js';
import {
  type AlarmPanel,
  dashboardBody,
  dashboardPanels,
  type GraphPanel,
  type Panel,
} from '../local/dashboard-picture.js';
import { logicalIdIn } from './template.js';
import { synthesizeProduct, synthesizeVariant, type Variant } from './variants.js';

const variant = synthesizeVariant({ shops: ['shop-a'] });

interface Dashboard {
  readonly body: Record<string, unknown>;
  readonly panels: Panel[];
}

function dashboardOf(of: Variant): Dashboard {
  const body = dashboardBody(of.template.toJSON());
  if (body === undefined) throw new Error('no dashboard in the template');
  return { body, panels: dashboardPanels(body) };
}

function graph(dashboard: Dashboard, titleStart: string): GraphPanel {
  const panel = dashboard.panels.find((entry) => entry.title.startsWith(titleStart));
  if (panel?.kind !== 'graph') throw new Error(`no graph titled "${titleStart}…"`);
  return panel;
}

const metricNames = (panel: GraphPanel): string[] =>
  panel.series.map((series) => series.source.metricName);

/** Every metric row of every graph widget, as the body holds it. */
function metricRows(body: Record<string, unknown>): unknown[][] {
  const widgets = body.widgets as { properties: { metrics?: unknown[][] } }[];
  return widgets.flatMap((widget) => widget.properties.metrics ?? []);
}

const { refresher } = variant;
const service = { service: refresher.serviceName };

describe('Construct: TikTokShopTokenRefresher (dashboard)', () => {
  it('creates a dashboard by default and exposes it', () => {
    // Assess
    variant.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(refresher.dashboard).toBeDefined();
    expect(logicalIdIn(variant.stack, refresher.dashboard as cloudwatch.Dashboard)).toBe(
      Object.keys(variant.template.findResources('AWS::CloudWatch::Dashboard'))[0],
    );
  });

  it('creates none when turned off', () => {
    // Act
    const off = synthesizeVariant({ shops: ['shop-a'], createDashboard: false });

    // Assess
    off.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(off.refresher.dashboard).toBeUndefined();
  });

  it("shows every alarm's state first, across the whole width", () => {
    // Act
    const [first] = dashboardOf(variant).panels;

    // Assess
    expect(first).toMatchObject({ kind: 'alarms', title: 'Alarms', x: 0, y: 0, width: 24 });
    expect((first as AlarmPanel).alarmIds).toEqual(
      Object.values(refresher.alarms).map((alarm) => logicalIdIn(variant.stack, alarm)),
    );
  });

  it('stacks what each shop came to per run: refreshed, skipped, superseded, failed', () => {
    // Act
    const panel = graph(dashboardOf(variant), 'Shops per run (every 1 hour)');

    // Assess
    expect(panel.stacked).toBe(true);
    expect(metricNames(panel)).toEqual([
      METRIC.tokensRefreshed,
      METRIC.tokensSkipped,
      METRIC.tokensSuperseded,
      METRIC.refreshFailures,
    ]);
    for (const series of panel.series) {
      expect(series.source).toMatchObject({
        namespace: METRICS_NAMESPACE,
        dimensions: service,
        stat: 'Sum',
      });
    }
  });

  it('breaks failures down by type, one line per failure metric the function emits', () => {
    // Act
    const panel = graph(dashboardOf(variant), 'Failures by type');

    // Assess
    expect(panel.stacked).toBe(false);
    expect(metricNames(panel)).toEqual([
      METRIC.reauthorizationRequired,
      METRIC.transientFailures,
      METRIC.tokensNotCurrent,
      METRIC.sellersChanged,
      METRIC.oversizedAnswers,
      METRIC.unexpectedResponses,
      METRIC.malformedSecrets,
      METRIC.tokensNotStored,
    ]);
  });

  it("draws the smallest access-token lifetime in hours against the expiry alarm's threshold", () => {
    // Prepare
    const custom = synthesizeVariant({
      shops: ['shop-a'],
      refreshBeforeExpiry: Duration.hours(36),
      expiryAlarmThreshold: Duration.hours(12),
    });
    const alarm = custom.template.toJSON().Resources[
      logicalIdIn(custom.stack, custom.refresher.alarms.tokenExpiry)
    ].Properties as { Threshold: number };

    // Act
    const panel = graph(dashboardOf(custom), 'Smallest access-token lifetime');

    // Assess
    expect(panel.series).toHaveLength(1);
    expect(panel.series[0]).toMatchObject({
      source: { metricName: METRIC.minAccessTokenLifetime, stat: 'Minimum' },
      scale: 1 / 3600,
    });
    expect(panel.unit).toBe('hours');
    expect(panel.annotations).toEqual([
      {
        label: 'expiry alarm: below 12 hours',
        value: alarm.Threshold / 3600,
        color: expect.any(String),
        fillBelow: true,
      },
      {
        label: 'refreshed when below 1 day 12 hours',
        value: 36,
        color: expect.any(String),
        fillBelow: false,
      },
    ]);
  });

  it("draws the longest run in seconds against the function's timeout", () => {
    // Prepare
    const custom = synthesizeVariant({ shops: ['shop-a'], timeout: Duration.minutes(2) });

    // Act
    const panel = graph(dashboardOf(custom), 'Run duration');

    // Assess
    expect(panel.series).toEqual([
      expect.objectContaining({
        source: {
          namespace: 'AWS/Lambda',
          metricName: 'Duration',
          dimensions: {
            FunctionName: `Ref(${logicalIdIn(custom.stack, custom.refresher.function)})`,
          },
          stat: 'Maximum',
        },
        scale: 1 / 1000,
      }),
    ]);
    expect(panel.annotations.map(({ label, value }) => ({ label, value }))).toEqual([
      { label: 'timeout: 2 minutes', value: 120 },
    ]);
  });

  it('counts the events not published per run', () => {
    // Act
    const panel = graph(dashboardOf(variant), 'Events not published');

    // Assess
    expect(metricNames(panel)).toEqual([METRIC.eventPublishFailures]);
    expect(panel.series[0]?.source.dimensions).toEqual(service);
  });

  it('shows the depth of both dead-letter queues, as their alarms read it', () => {
    // Act
    const panel = graph(dashboardOf(variant), 'Dead-letter queues');

    // Assess
    const depth = {
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      stat: 'Maximum',
    };
    expect(panel.series.map((series) => series.source)).toMatchObject([depth, depth]);
    const queues = metricRows(dashboardOf(variant).body)
      .filter((row) => row[0] === 'AWS/SQS')
      .map((row) => row[3]);
    expect(queues).toEqual(
      [refresher.scheduleDeadLetterQueue, refresher.failureQueue].map(
        (queue) => `GetAtt(${logicalIdIn(variant.stack, queue)}.QueueName)`,
      ),
    );
  });

  it('draws one point per run: every graph keeps the refresh interval as its period', () => {
    // Prepare
    const every30Minutes = synthesizeVariant({
      shops: ['shop-a'],
      refreshInterval: Duration.minutes(30),
    });

    // Act
    const { body } = dashboardOf(every30Minutes);

    // Assess
    expect(body.periodOverride).toBe('inherit');
    const periods = metricRows(body).map(
      (row) => (row.at(-1) as { period?: number } | undefined)?.period,
    );
    expect(periods.length).toBeGreaterThan(10);
    expect(new Set(periods)).toEqual(new Set([1800]));
  });

  it('opens on a week of hourly runs, and on a day of runs a minute', () => {
    // Prepare
    const everyMinute = synthesizeVariant({
      shops: ['shop-a'],
      refreshInterval: Duration.minutes(1),
      refreshBeforeExpiry: Duration.hours(2),
      expiryAlarmThreshold: Duration.hours(1),
    });

    // Assess
    expect(dashboardOf(variant).body.start).toBe('-P7D');
    expect(dashboardOf(everyMinute).body.start).toBe('-P1D');
  });
});

describe('Construct: TikTokShopTokenRefresher (metric methods)', () => {
  const methods: [keyof TikTokShopTokenRefresher, string][] = [
    ['metricTokensRefreshed', METRIC.tokensRefreshed],
    ['metricTokensSkipped', METRIC.tokensSkipped],
    ['metricTokensSuperseded', METRIC.tokensSuperseded],
    ['metricRefreshFailures', METRIC.refreshFailures],
    ['metricReauthorizationRequired', METRIC.reauthorizationRequired],
    ['metricTransientFailures', METRIC.transientFailures],
    ['metricUnexpectedResponses', METRIC.unexpectedResponses],
    ['metricMalformedSecrets', METRIC.malformedSecrets],
    ['metricTokensNotStored', METRIC.tokensNotStored],
    ['metricEventPublishFailures', METRIC.eventPublishFailures],
    ['metricAuthorizationExpiring', METRIC.authorizationExpiring],
  ];

  it.each(methods)('%s sums %s per run for this refresher', (method, metricName) => {
    // Act
    const metric = (refresher[method] as () => cloudwatch.Metric).call(refresher);

    // Assess
    expect(metric).toMatchObject({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensions: service,
      statistic: 'Sum',
    });
    expect(metric.period.toSeconds()).toBe(refresher.refreshInterval.toSeconds());
  });
});

describe('Stack: TikTokShopTokenRefresherStack (dashboard)', () => {
  it("outputs the dashboard's name, and leaves both out on request", () => {
    // Act
    const on = synthesizeProduct({ shops: ['shop-a'] });
    const off = synthesizeProduct({ shops: ['shop-a'], dashboard: false });

    // Assess
    const dashboardId = logicalIdIn(on.stack, on.stack.refresher.dashboard as cloudwatch.Dashboard);
    on.template.hasOutput('DashboardName', { Value: { Ref: dashboardId } });
    off.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(off.template.findOutputs('DashboardName'))).toEqual([]);
  });
});
