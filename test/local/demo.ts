/**
 * `npm run demo`: the product doing its job on this machine, with no AWS account and no TikTok
 * credentials. The bundle CDK deploys runs in a fresh Node process per invocation, with the
 * environment the template gives it, against local Secrets Manager, EventBridge and TikTok
 * endpoints on 127.0.0.1: once as the schedule runs it, once as a person would from the console;
 * then a token is read the way another Lambda reads it. Progress goes to stderr, the report to
 * stdout; no token value is ever printed.
 */
import { pathToFileURL } from 'node:url';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CfnElement } from 'aws-cdk-lib';
import { getShopToken, tiktokShopApi } from '../../lambda/reader/index.js';
import type { ShopResult } from '../../lambda/refresher/reports.js';
import { renderTable, type Style, styleFor } from '../bench/format.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';
import { type PictureRun, writeDashboardPicture } from './dashboard-picture.js';
import { webhookChapter } from './demo-webhooks.js';
import { startLocalOpenApi } from './endpoints/open-api.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

interface DemoShop {
  readonly shop: string;
  readonly setup: string;
  readonly accessTtlSeconds: number;
  /** The seller's authorization ends this far ahead (TikTok's refresh_token_expire_in). */
  readonly authorizationSeconds?: number;
  readonly revoked?: boolean;
}

const SHOPS: readonly DemoShop[] = [
  { shop: 'shop-due', setup: 'access token ends in 5 h: due', accessTtlSeconds: 5 * HOUR },
  { shop: 'shop-fresh', setup: 'access token ends in 6 days: not due', accessTtlSeconds: 6 * DAY },
  {
    shop: 'shop-revoked',
    setup: "due, but the seller revoked the app's access",
    accessTtlSeconds: 5 * HOUR,
    revoked: true,
  },
  {
    shop: 'shop-authorization-ending',
    setup: "due; the seller's authorization ends in 12 days",
    accessTtlSeconds: 5 * HOUR,
    authorizationSeconds: 12 * DAY,
  },
];

// ---------------------------------------------------------------------------------------------
// Alarms: the template's alarm definitions evaluated against the metrics one run produced.

export interface AlarmDefinition {
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  /**
   * Dimension values: literals as they are, a reference to a resource as `Ref(<logical id>)`;
   * any other intrinsic (undefined) matches every value.
   */
  readonly dimensions: Readonly<Record<string, string | undefined>>;
  readonly statistic: string;
  readonly comparison: string;
  readonly threshold: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: string;
  readonly description: string;
}

export interface Datapoint {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface AlarmVerdict {
  readonly alarm: AlarmDefinition;
  /** NOT_EVALUATED: the run reports nothing in the alarm's namespace (queue depth, say). */
  readonly state: 'ALARM' | 'OK' | 'NOT_EVALUATED';
  /** The statistic over the run's datapoints; absent when there were none. */
  readonly value?: number;
}

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};

/** Every single-metric CloudWatch alarm of a synthesized template. */
export function alarmDefinitions(template: unknown): AlarmDefinition[] {
  const resources = Object.entries(asObject(asObject(template).Resources));
  return resources.flatMap(([logicalId, resource]) => {
    const { Type, Properties } = asObject(resource);
    const props = asObject(Properties);
    if (Type !== 'AWS::CloudWatch::Alarm' || typeof props.MetricName !== 'string') return [];
    const dimensions = Object.fromEntries(
      (Array.isArray(props.Dimensions) ? props.Dimensions : []).map((entry) => {
        const { Name, Value } = asObject(entry);
        return [String(Name), dimensionValue(Value)];
      }),
    );
    return [
      {
        // CDK appends an 8-character hash to logical ids; people know the alarm without it.
        name: logicalId.replace(/[0-9A-F]{8}$/, ''),
        namespace: String(props.Namespace),
        metricName: props.MetricName,
        dimensions,
        statistic: String(props.Statistic ?? 'Average'),
        comparison: String(props.ComparisonOperator),
        threshold: Number(props.Threshold),
        datapointsToAlarm: Number(props.DatapointsToAlarm ?? props.EvaluationPeriods ?? 1),
        treatMissingData: String(props.TreatMissingData ?? 'missing'),
        description: String(props.AlarmDescription ?? ''),
      },
    ];
  });
}

function dimensionValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const ref = asObject(value).Ref;
  return typeof ref === 'string' ? refTo(ref) : undefined;
}

/** How a dimension names a resource of the template, e.g. the function by its logical id. */
export function refTo(logicalId: string): string {
  return `Ref(${logicalId})`;
}

/** Datapoints of the CloudWatch embedded metric format lines among a function's log lines. */
export function emfDatapoints(lines: readonly string[]): Datapoint[] {
  return lines.flatMap((line) => {
    let root: Json;
    try {
      root = asObject(JSON.parse(line));
    } catch {
      return []; // not JSON: a runtime warning, say
    }
    const directives = asObject(root._aws).CloudWatchMetrics;
    if (!Array.isArray(directives)) return [];
    return directives.flatMap((directive) => {
      const { Namespace, Dimensions, Metrics } = asObject(directive);
      const keys = (Array.isArray(Dimensions) ? Dimensions.flat() : []).map(String);
      const dimensions = Object.fromEntries(keys.map((key) => [key, String(root[key])]));
      return (Array.isArray(Metrics) ? Metrics : []).flatMap((metric) => {
        const name = String(asObject(metric).Name);
        const raw = root[name];
        return (Array.isArray(raw) ? raw : [raw])
          .filter((value): value is number => typeof value === 'number')
          .map((value) => ({ namespace: String(Namespace), name, dimensions, value }));
      });
    });
  });
}

const STATISTICS: Readonly<Record<string, (values: number[]) => number>> = {
  Sum: (values) => values.reduce((sum, value) => sum + value, 0),
  Minimum: (values) => Math.min(...values),
  Maximum: (values) => Math.max(...values),
  Average: (values) => values.reduce((sum, value) => sum + value, 0) / values.length,
  SampleCount: (values) => values.length,
};

const COMPARISONS: Readonly<
  Record<string, { symbol: string; test: (a: number, b: number) => boolean }>
> = {
  GreaterThanOrEqualToThreshold: { symbol: '≥', test: (a, b) => a >= b },
  GreaterThanThreshold: { symbol: '>', test: (a, b) => a > b },
  LessThanThreshold: { symbol: '<', test: (a, b) => a < b },
  LessThanOrEqualToThreshold: { symbol: '≤', test: (a, b) => a <= b },
};

/** Each alarm as one period holding only this run's datapoints would leave it. */
export function evaluateAlarms(
  alarms: readonly AlarmDefinition[],
  datapoints: readonly Datapoint[],
): AlarmVerdict[] {
  const reported = new Set(datapoints.map((point) => point.namespace));
  return alarms.map((alarm) => {
    if (!reported.has(alarm.namespace)) return { alarm, state: 'NOT_EVALUATED' };
    const values = datapoints
      .filter(
        (point) =>
          point.namespace === alarm.namespace &&
          point.name === alarm.metricName &&
          Object.entries(alarm.dimensions).every(
            ([key, value]) => value === undefined || point.dimensions[key] === value,
          ),
      )
      .map((point) => point.value);
    if (values.length === 0) {
      return { alarm, state: alarm.treatMissingData === 'breaching' ? 'ALARM' : 'OK' };
    }
    const statistic = STATISTICS[alarm.statistic];
    const comparison = COMPARISONS[alarm.comparison];
    if (statistic === undefined || comparison === undefined) {
      throw new Error(`alarm ${alarm.name}: ${alarm.statistic} / ${alarm.comparison} not known`);
    }
    const value = statistic(values);
    return { alarm, state: comparison.test(value, alarm.threshold) ? 'ALARM' : 'OK', value };
  });
}

function describeVerdict(verdict: AlarmVerdict): string {
  const { alarm } = verdict;
  const symbol = COMPARISONS[alarm.comparison]?.symbol ?? alarm.comparison;
  const reading =
    verdict.value === undefined
      ? `no ${alarm.metricName} datapoint, and missing data counts as breaching`
      : `${alarm.metricName} = ${verdict.value}, alarm when ${symbol} ${alarm.threshold}`;
  const periods =
    alarm.datapointsToAlarm > 1
      ? ` (fires after ${alarm.datapointsToAlarm} periods like this)`
      : '';
  return `${alarm.name}: ${reading}${periods}`;
}

// ---------------------------------------------------------------------------------------------
// Presentation.

/** Enough of a token to recognise its kind (`TTS_AT_…`), never enough to use it. */
export function maskToken(token: string): string {
  const prefix = /^(?:[A-Z]{2,5}_){1,2}/.exec(token)?.[0] ?? '';
  return `${prefix}…`;
}

/** `2026-12-02 11:51 UTC (in 7.0 days)`. */
export function formatExpiry(at: Date, now: number): string {
  const stamp = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const seconds = (at.getTime() - now) / 1000;
  const span =
    Math.abs(seconds) < 2 * DAY
      ? `${(Math.abs(seconds) / HOUR).toFixed(1)} h`
      : `${(Math.abs(seconds) / DAY).toFixed(1)} days`;
  return `${stamp} (${seconds >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** Writes to stdout, refusing any text that holds a secret the local endpoints know. */
class Report {
  constructor(private readonly secrets: () => readonly string[]) {}

  print(lines: readonly string[]): void {
    const text = `${lines.join('\n')}\n`;
    if (this.secrets().some((secret) => text.includes(secret))) {
      throw new Error('refusing to print: the report would contain a token or secret');
    }
    process.stdout.write(text);
  }
}

function progress(step: string): void {
  process.stderr.write(`${step}\n`);
}

function outcomeCell(result: ShopResult, style: Style): string {
  const paint = {
    refreshed: style.good,
    skipped: style.dim,
    superseded: style.warn,
    failed: style.bad,
  };
  return paint[result.outcome](result.outcome);
}

function noteCell(result: ShopResult): string {
  if (result.outcome === 'failed') return `${result.errorType}: ${result.message}`;
  if (result.outcome === 'skipped') return result.reason === 'dry-run' ? 'dry run' : 'not due';
  if (result.recovered === true) return 'recovered an earlier write';
  return result.message ?? '';
}

function renderRun(outcome: InvokeOutcome, style: Style, now: number): string[] {
  if (outcome.result === undefined) {
    const error = outcome.error;
    return [`  ${style.bad('invocation failed')}: ${error?.errorType}: ${error?.errorMessage}`];
  }
  const rows = outcome.result.shops.map((result) => [
    result.shop,
    outcomeCell(result, style),
    result.accessTokenExpiresAt === undefined
      ? ''
      : formatExpiry(new Date(result.accessTokenExpiresAt), now),
    noteCell(result),
  ]);
  return renderTable(
    [
      { header: 'shop' },
      { header: 'outcome' },
      { header: 'access token expires' },
      { header: 'error / note' },
    ],
    rows,
  );
}

function renderEvents(events: readonly { DetailType: string; Detail: unknown }[]): string[] {
  if (events.length === 0) return ['  (none)'];
  return renderTable(
    [{ header: 'detail-type' }, { header: 'shop' }, { header: 'detail' }],
    events.map((event) => {
      const detail = asObject(event.Detail);
      const facts =
        detail.errorType === undefined
          ? `access token expires ${String(detail.accessTokenExpiresAt)}, authorization ends ${String(detail.refreshTokenExpiresAt)}`
          : `${String(detail.errorType)}${detail.tiktokCode === undefined ? '' : ` (TikTok code ${String(detail.tiktokCode)})`}, retryable: ${String(detail.retryable)}`;
      return [event.DetailType, String(detail.shop), facts];
    }),
  );
}

function renderAlarms(verdicts: readonly AlarmVerdict[], style: Style): string[] {
  const firing = verdicts.filter((verdict) => verdict.state === 'ALARM');
  const quiet = verdicts.filter((verdict) => verdict.state === 'OK').length;
  const skipped = verdicts.filter((verdict) => verdict.state === 'NOT_EVALUATED');
  const namespaces = [...new Set(skipped.map((verdict) => verdict.alarm.namespace))];
  return [
    ...(firing.length === 0 ? ['  (none)'] : []),
    ...firing.flatMap((verdict) => [
      `  ${style.bad('●')} ${describeVerdict(verdict)}`,
      `    ${style.dim(verdict.alarm.description)}`,
    ]),
    `  ${style.dim(`${quiet} other alarm${quiet === 1 ? ' stays' : 's stay'} OK`)}`,
    ...(skipped.length === 0
      ? []
      : [
          `  ${style.dim(
            `not evaluated: ${skipped.map((verdict) => verdict.alarm.name).join(', ')} (${namespaces.join(', ')} metrics have no local counterpart)`,
          )}`,
        ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// The demo.

async function main(): Promise<void> {
  const style = styleFor(process.stdout);
  const shops = SHOPS.map((entry) => entry.shop);
  progress('synthesizing the stack (CDK bundles the function with esbuild)…');
  const synthesized = synthesizeRefresher({ shops, webhooks: true });
  const alarms = alarmDefinitions(synthesized.template.toJSON());
  const schedule = scheduleOf(synthesized.template.toJSON());
  const { stack } = synthesized;
  const functionId = stack.getLogicalId(stack.refresher.function.node.defaultChild as CfnElement);
  progress('starting local Secrets Manager, EventBridge and TikTok endpoints…');
  const deployment = await LocalDeployment.start({ shops });
  const runs: PictureRun[] = [];
  try {
    const report = new Report(() => deployment.secretValues());
    progress('creating the app-credentials secret and four shops…');
    report.print(seedShops(deployment, style));

    progress('running the function as the schedule does…');
    report.print(
      await invokeAndDescribe(
        { deployment, alarms, functionId, style, runs },
        `Run 1 — as the schedule runs it, ${schedule.expression}`,
        schedule.event,
      ),
    );
    progress('running it as a person would from the Lambda console…');
    report.print(
      await invokeAndDescribe(
        { deployment, alarms, functionId, style, runs },
        'Run 2 — as a person runs it from the console: refresh one shop now',
        { force: true, shops: [secretNameOf(deployment, 'shop-fresh')] },
      ),
    );
    const runContext = { deployment, alarms, functionId, style, runs };
    await webhookChapter({
      deployment,
      style,
      shopSecret: secretNameOf(deployment, 'shop-fresh'),
      // Only the alarms on what the receiver counts: the refresher's others need a run.
      alarmsFiring: (logs) => {
        const points = emfDatapoints(logs);
        const names = new Set(points.map((point) => point.name));
        const watched = alarms.filter((alarm) => names.has(alarm.metricName));
        return renderAlarms(evaluateAlarms(watched, points), style);
      },
      runAndDescribe: (title, event) => invokeAndDescribe(runContext, title, event),
      scheduledEvent: schedule.event,
      print: (lines) => report.print(lines),
      progress,
    });
    const picture = writeDashboardPicture(synthesized.template.toJSON(), runs);
    report.print([
      '',
      style.bold("The dashboard's figures for these runs, as a picture"),
      `  ${picture}`,
    ]);
    progress('reading a token as another Lambda would…');
    report.print(
      await readAsAnotherLambda(deployment, secretNameOf(deployment, 'shop-due'), style),
    );
    progress('calling the local TikTok Shop Open API as another Lambda would…');
    await callApiAsAnotherLambda(deployment, secretNameOf(deployment, 'shop-due'), style);
  } finally {
    await deployment.close();
  }
}

/** One invocation: what each shop came to, the events it published, the alarms it would fire. */
async function invokeAndDescribe(
  context: {
    deployment: LocalDeployment;
    alarms: readonly AlarmDefinition[];
    /** The function's logical id: its Errors metric is named by it. */
    functionId: string;
    style: Style;
    /** Where the run's metrics and alarm verdicts go, for the dashboard picture. */
    runs: PictureRun[];
  },
  title: string,
  event: unknown,
): Promise<string[]> {
  const { deployment, alarms, functionId, style, runs } = context;
  const eventsFrom = deployment.eventBridge.events.length;
  const outcome = await deployment.invoke(event);
  const datapoints = [
    ...emfDatapoints(outcome.logs),
    // Lambda's own Errors metric for the invocation, which the function-errors alarm watches.
    {
      namespace: 'AWS/Lambda',
      name: 'Errors',
      dimensions: { FunctionName: refTo(functionId) },
      value: outcome.error ? 1 : 0,
    },
    {
      namespace: 'AWS/Lambda',
      name: 'Duration',
      dimensions: { FunctionName: refTo(functionId) },
      value: outcome.durationMs ?? 0,
    },
  ];
  const verdicts = evaluateAlarms(alarms, datapoints);
  runs.push({ title, datapoints, verdicts });
  const indent = (line: string): string => `  ${line}`;
  return [
    '',
    style.bold(title),
    `  event: ${JSON.stringify(event)}`,
    ...renderRun(outcome, style, Date.now()),
    '',
    style.bold('  Events published to EventBridge'),
    ...renderEvents(deployment.eventBridge.events.slice(eventsFrom)).map(indent),
    '',
    style.bold('  Alarms that would fire (from the run’s metrics and the template’s alarms)'),
    ...renderAlarms(verdicts, style).map(indent),
  ];
}

function secretNameOf(deployment: LocalDeployment, shop: string): string {
  const name = deployment.shopSecretNames.find((secret) => secret.endsWith(`/${shop}`));
  if (name === undefined) throw new Error(`the stack has no secret for ${shop}`);
  return name;
}

/** The template's schedule: how often it runs, and the event it sends to the function. */
function scheduleOf(template: unknown): { expression: string; event: unknown } {
  for (const resource of Object.values(asObject(asObject(template).Resources))) {
    const { Type, Properties } = asObject(resource);
    const props = asObject(Properties);
    const input = asObject(props.Target).Input;
    if (Type === 'AWS::Scheduler::Schedule' && typeof input === 'string') {
      return { expression: String(props.ScheduleExpression), event: JSON.parse(input) };
    }
  }
  throw new Error('the template has no schedule with an input');
}

function seedShops(deployment: LocalDeployment, style: Style): string[] {
  const now = Math.floor(Date.now() / 1000);
  const rows = SHOPS.map((entry) => {
    const secretName = secretNameOf(deployment, entry.shop);
    const { refreshToken } = deployment.seedShop(secretName, {
      accessTtlSeconds: entry.accessTtlSeconds,
      ...(entry.authorizationSeconds === undefined
        ? {}
        : { refreshTokenExpiresAt: now + entry.authorizationSeconds }),
    });
    if (entry.revoked === true) deployment.tiktok.revoke(refreshToken);
    return [secretName, entry.setup];
  });
  const appSecret = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID ?? '';
  return [
    style.bold('TikTok Shop token refresher, deployed locally'),
    `  function: the bundle CDK synthesized, run in a fresh Node process per invocation`,
    `  app credentials: ${appSecret} (a local app key and secret)`,
    ...renderTable([{ header: 'shop secret' }, { header: 'set up as' }], rows),
  ];
}

/** A GetSecretValue through the real SDK client, as lambda/reader.ts's getShopToken makes it. */
async function readAsAnotherLambda(
  deployment: LocalDeployment,
  secretName: string,
  style: Style,
): Promise<string[]> {
  // The function runs on Node 24 in Lambda: the SDK's notice about this machine's Node is no news
  // about the product, and would end the demo with a page of warning.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const provider = new SecretsProvider({
    awsSdkV3Client: new SecretsManagerClient({
      endpoint: deployment.secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
  const token = await getShopToken(secretName, { provider });
  return [
    '',
    style.bold('Read by another Lambda (getShopToken from lambda/reader.ts)'),
    `  ${secretName}: access token ${maskToken(token.accessToken)}, expires ${formatExpiry(token.accessTokenExpiresAt, Date.now())}`,
  ];
}

interface SearchedOrders {
  readonly orders: readonly {
    id: string;
    status: string;
    payment: { currency: string; total_amount: string };
  }[];
  readonly total_count: number;
}

/**
 * The client another team's Lambda uses (tiktokShopApi from lambda/reader), against a local Open
 * API host that checks every signature, timestamp, token header and shop_cipher as TikTok does.
 */
async function callApiAsAnotherLambda(
  deployment: LocalDeployment,
  tokenSecretId: string,
  style: Style,
): Promise<void> {
  const appCredentialsSecretId = deployment.functionEnvironment.APP_CREDENTIALS_SECRET_ID ?? '';
  const app = JSON.parse(deployment.secretsManager.current(appCredentialsSecretId) ?? '{}') as {
    app_key: string;
    app_secret: string;
  };
  const currentToken = () =>
    (
      JSON.parse(deployment.secretsManager.current(tokenSecretId) ?? '{}') as {
        data: { access_token: string };
      }
    ).data.access_token;
  const openApi = await startLocalOpenApi({
    appKey: app.app_key,
    appSecret: app.app_secret,
    accessTokens: (token) => (token === currentToken() ? 'valid' : 'unknown'),
  });
  try {
    openApi.addShop({ name: 'Acme UK', region: 'GB', sellerType: 'LOCAL' });
    openApi.addShop({ name: 'Acme US', region: 'US', sellerType: 'CROSS_BORDER' });
    const report = new Report(() => [...deployment.secretValues(), ...openApi.issuedSecrets()]);
    const provider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({
        endpoint: deployment.secretsManager.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    });

    // What another team's Lambda writes (the provider and base URL point at the local hosts).
    const api = tiktokShopApi({
      tokenSecretId,
      appCredentialsSecretId,
      shop: { region: 'GB' },
      baseUrl: openApi.url,
      provider,
    });
    const { shops } = await api.get<{
      shops: { id: string; name: string; region: string; seller_type: string }[];
    }>('/authorization/202309/shops');
    const search = () =>
      api.post<SearchedOrders>('/order/202309/orders/search', {
        query: { page_size: 2 },
        body: { order_status: 'AWAITING_SHIPMENT' },
      });
    const found = await search();
    const secretCalls = deployment.secretsManager.calls.length;
    const apiCalls = openApi.calls.length;
    await search();
    const cachedCost = `${openApi.calls.length - apiCalls} Open API call, ${deployment.secretsManager.calls.length - secretCalls} Secrets Manager calls`;

    report.print([
      '',
      style.bold(
        'Called by another Lambda (tiktokShopApi from lambda/reader), against a local Open API',
      ),
      "  const api = tiktokShopApi({ tokenSecretId, appCredentialsSecretId, shop: { region: 'GB' } });",
      "  await api.get('/authorization/202309/shops');",
      "  await api.post('/order/202309/orders/search', { query: { page_size: 2 }, body: { order_status: 'AWAITING_SHIPMENT' } });",
      '',
      style.bold('  Shops the token may act for (their ciphers stay inside the client)'),
      ...renderTable(
        [{ header: 'id' }, { header: 'name' }, { header: 'region' }, { header: 'seller type' }],
        shops.map((shop) => [shop.id, shop.name, shop.region, shop.seller_type]),
        '    ',
      ),
      '',
      style.bold(`  Orders awaiting shipment in Acme UK: ${found.total_count}, first page of 2`),
      ...renderTable(
        [{ header: 'order' }, { header: 'status' }, { header: 'total', align: 'right' }],
        found.orders.map((order) => [
          order.id,
          order.status,
          `${order.payment.total_amount} ${order.payment.currency}`,
        ]),
        '    ',
      ),
      '',
      `  Every request signed and checked: ${openApi.calls.map((call) => `${call.method} ${call.path} → ${call.code}`).join(', ')}`,
      `  The same search again, token and cipher cached: ${cachedCost}`,
    ]);
  } finally {
    await openApi.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
