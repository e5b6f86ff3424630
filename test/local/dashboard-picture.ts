/**
 * The refresher's CloudWatch dashboard drawn from the demo's local runs: the widgets are read from
 * the synthesized template (titles, metrics, statistics, annotations, layout), and each graph gets
 * one bar group per run from the metrics that run printed. So the picture shows what the dashboard
 * would, and follows it when a widget changes: an unknown widget or expression fails loudly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlarmVerdict, Datapoint } from './demo.js';

/** One run of the demo: the metrics it produced and the alarms' verdicts on them. */
export interface PictureRun {
  /** What the demo calls the run, e.g. `Run 1 — as the schedule runs it`. */
  readonly title: string;
  /** Its EMF datapoints and the Lambda metrics of the invocation (Errors, Duration). */
  readonly datapoints: readonly Datapoint[];
  readonly verdicts: readonly AlarmVerdict[];
}

/** A metric as a dashboard row names it; dimension values as the demo's datapoints hold them. */
export interface MetricSource {
  readonly namespace: string;
  readonly metricName: string;
  /** Literal values; a reference to a resource as `Ref(<logical id>)`; undefined matches any. */
  readonly dimensions: Readonly<Record<string, string | undefined>>;
  readonly stat: string;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly source: MetricSource;
  /** The graph shows the statistic times this (`lifetime / 3600` is 1/3600). */
  readonly scale: number;
}

export interface Annotation {
  readonly label: string;
  readonly value: number;
  readonly color: string;
  readonly fillBelow: boolean;
}

interface Placement {
  readonly title: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface GraphPanel extends Placement {
  readonly kind: 'graph';
  readonly stacked: boolean;
  readonly unit: string;
  readonly series: readonly Series[];
  readonly annotations: readonly Annotation[];
}

export interface AlarmPanel extends Placement {
  readonly kind: 'alarms';
  /** Logical ids of the alarms, in the widget's order. */
  readonly alarmIds: readonly string[];
}

export type Panel = GraphPanel | AlarmPanel;

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

// ---------------------------------------------------------------------------------------------
// Reading the dashboard from the template.

/**
 * The body of the template's one dashboard, parsed: CloudFormation joins it from strings and
 * intrinsics, which become `Ref(<id>)` and `GetAtt(<id>.<attribute>)` here. Undefined without a
 * dashboard.
 */
export function dashboardBody(template: unknown): Json | undefined {
  const dashboards = Object.values(asObject(asObject(template).Resources))
    .map(asObject)
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard');
  if (dashboards.length > 1) throw new Error('the template has more than one dashboard');
  const [dashboard] = dashboards;
  if (dashboard === undefined) return undefined;
  const body = asObject(dashboard.Properties).DashboardBody;
  if (typeof body === 'string') return asObject(JSON.parse(body));
  const [separator, parts] = asArray(asObject(body)['Fn::Join']);
  if (separator !== '' || !Array.isArray(parts)) throw new Error('unexpected DashboardBody');
  return asObject(JSON.parse(parts.map(placeholder).join('')));
}

function placeholder(part: unknown): string {
  if (typeof part === 'string') return part;
  const { Ref, 'Fn::GetAtt': getAtt } = asObject(part);
  if (typeof Ref === 'string') return `Ref(${Ref})`;
  const [id, attribute] = asArray(getAtt);
  if (typeof id === 'string' && typeof attribute === 'string') return `GetAtt(${id}.${attribute})`;
  throw new Error(`unexpected intrinsic in DashboardBody: ${JSON.stringify(part)}`);
}

/** The dashboard's widgets as panels to draw. */
export function dashboardPanels(body: Json): Panel[] {
  return asArray(body.widgets).map((entry) => {
    const widget = asObject(entry);
    const properties = asObject(widget.properties);
    const placement: Placement = {
      title: String(properties.title ?? ''),
      x: Number(widget.x),
      y: Number(widget.y),
      width: Number(widget.width),
      height: Number(widget.height),
    };
    if (widget.type === 'alarm') {
      return {
        kind: 'alarms',
        ...placement,
        alarmIds: asArray(properties.alarms).map((arn) => {
          const id = /^GetAtt\((.+)\.Arn\)$/.exec(String(arn))?.[1];
          if (id === undefined)
            throw new Error(`alarm ${String(arn)} is not one of the template's`);
          return id;
        }),
      };
    }
    if (widget.type === 'metric' && properties.view === 'timeSeries') {
      return { kind: 'graph', ...placement, ...graphContent(properties) };
    }
    throw new Error(
      `the picture cannot draw the ${String(widget.type)} widget "${placement.title}"`,
    );
  });
}

function graphContent(properties: Json): Omit<GraphPanel, 'kind' | keyof Placement> {
  const rows = asArray(properties.metrics).map(asArray);
  const byId = new Map<string, MetricSource>();
  const series: Series[] = [];
  for (const row of rows) {
    const options = asObject(row.at(-1));
    if (typeof options.expression === 'string') continue;
    const source = metricSource(row, options);
    if (typeof options.id === 'string') byId.set(options.id, source);
    if (options.visible !== false) {
      series.push({ ...look(options, source.metricName), source, scale: 1 });
    }
  }
  for (const row of rows) {
    const options = asObject(row[0]);
    if (typeof options.expression !== 'string') continue;
    // The dashboard converts units (seconds to hours, say); nothing else is drawn here.
    const match = /^\s*([a-z]\w*)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(options.expression);
    const source = byId.get(match?.[1] ?? '');
    if (match === null || source === undefined) {
      throw new Error(`the picture cannot compute the expression "${options.expression}"`);
    }
    series.push({ ...look(options, options.expression), source, scale: 1 / Number(match[2]) });
  }
  const left = asObject(asObject(properties.yAxis).left);
  return {
    stacked: properties.stacked === true,
    unit: String(left.label ?? ''),
    series,
    annotations: asArray(asObject(properties.annotations).horizontal).map((entry) => {
      const annotation = asObject(entry);
      return {
        label: String(annotation.label ?? ''),
        value: Number(annotation.value),
        color: String(annotation.color ?? '#7f7f7f'),
        fillBelow: annotation.fill === 'below',
      };
    }),
  };
}

function metricSource(row: unknown[], options: Json): MetricSource {
  const names = row.filter((cell) => typeof cell === 'string');
  const [namespace, metricName, ...pairs] = names;
  if (namespace === undefined || metricName === undefined || pairs.length % 2 !== 0) {
    throw new Error(`unexpected metric row ${JSON.stringify(row)}`);
  }
  const dimensions: Record<string, string | undefined> = {};
  for (let index = 0; index < pairs.length; index += 2) {
    const value = pairs[index + 1] ?? '';
    // Only a Ref names what the demo's datapoints name; another intrinsic matches any value.
    dimensions[pairs[index] ?? ''] = value.startsWith('GetAtt(') ? undefined : value;
  }
  return { namespace, metricName, dimensions, stat: String(options.stat ?? 'Average') };
}

function look(options: Json, fallback: string): { label: string; color: string } {
  return { label: String(options.label ?? fallback), color: String(options.color ?? '#1f77b4') };
}

// ---------------------------------------------------------------------------------------------
// Values: each run is one period of every graph.

const STATISTICS: Readonly<Record<string, (values: number[]) => number>> = {
  Sum: (values) => values.reduce((sum, value) => sum + value, 0),
  Minimum: (values) => Math.min(...values),
  Maximum: (values) => Math.max(...values),
  Average: (values) => values.reduce((sum, value) => sum + value, 0) / values.length,
};

/** The series' value for one run; undefined when the run has no datapoint for it. */
export function seriesValue(series: Series, run: PictureRun): number | undefined {
  const { source } = series;
  const values = run.datapoints
    .filter(
      (point) =>
        point.namespace === source.namespace &&
        point.name === source.metricName &&
        Object.entries(source.dimensions).every(
          ([key, value]) => value === undefined || point.dimensions[key] === value,
        ),
    )
    .map((point) => point.value);
  if (values.length === 0) return undefined;
  const statistic = STATISTICS[source.stat];
  if (statistic === undefined) throw new Error(`statistic ${source.stat} not known`);
  return statistic(values) * series.scale;
}

/** Whether any run reports in the series' namespace: queue depth, say, exists only in AWS. */
function hasLocalCounterpart(series: Series, runs: readonly PictureRun[]): boolean {
  return runs.some((run) =>
    run.datapoints.some((point) => point.namespace === series.source.namespace),
  );
}

/** The alarm's state after a run, as the demo's evaluation of the template's alarms gave it. */
export function alarmState(alarmId: string, run: PictureRun): AlarmVerdict['state'] | undefined {
  return run.verdicts.find((verdict) => verdict.alarm.name === displayIdOf(alarmId))?.state;
}

/** As the demo names an alarm: the logical id without CDK's 8-character hash. */
function displayIdOf(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

// ---------------------------------------------------------------------------------------------
// Drawing.

const COLUMN = 50;
const ROW = 44;
const MARGIN = 20;
const GAP = 6;
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const INK = '#16191f';
const MUTED = '#5f6b7a';
const STATE_COLORS: Readonly<Record<string, string>> = {
  ALARM: '#d13212',
  OK: '#1d8102',
  NOT_EVALUATED: '#8d99a8',
};

const xmlEscape = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** Rough width of a text in DejaVu Sans, enough to lay out legends and tiles. */
const textWidth = (text: string, size: number): number => text.length * size * 0.6;

function text(
  x: number,
  y: number,
  content: string,
  options: {
    size?: number;
    color?: string;
    weight?: string;
    anchor?: string;
    /** A white outline, so that the text stays legible over a bar or a line. */
    halo?: boolean;
  } = {},
): string {
  const { size = 12, color = INK, weight = 'normal', anchor = 'start', halo = false } = options;
  const outline = halo
    ? ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
    : '';
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" fill="${color}" font-weight="${weight}" text-anchor="${anchor}"${outline}>${xmlEscape(content)}</text>`;
}

/**
 * The top of an axis with ticks at 0, half and top that a reader can count with: 1, 2, 4, 6 or
 * 8 times a power of ten (2 for an empty graph).
 */
export function niceCeiling(value: number): number {
  if (value <= 0) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 4, 6, 8, 10].find((factor) => factor * power >= value) ?? 10;
  return step * power;
}

/** Whole numbers as they are, hours and seconds to a tenth, small values to two places. */
export function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(1);
  return String(Number(value.toPrecision(2)));
}

/** Words over as many lines as a width needs. */
function wrap(content: string, width: number, size: number): string[] {
  const lines: string[] = [];
  for (const word of content.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && textWidth(`${last} ${word}`, size) <= width) {
      lines[lines.length - 1] = `${last} ${word}`;
    } else {
      lines.push(word);
    }
  }
  return lines;
}

/** The SVG picture of the dashboard for the given runs. */
export function renderDashboardPicture(template: unknown, runs: readonly PictureRun[]): string {
  const body = dashboardBody(template);
  if (body === undefined) throw new Error('the template has no dashboard to draw');
  const panels = dashboardPanels(body);
  const header = 64 + runs.length * 16;
  const columns = Math.max(24, ...panels.map((panel) => panel.x + panel.width));
  const rows = Math.max(...panels.map((panel) => panel.y + panel.height));
  const width = 2 * MARGIN + columns * COLUMN;
  const height = header + rows * ROW + MARGIN;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#f2f3f3"/>`,
    text(MARGIN, 30, "The refresher's CloudWatch dashboard, drawn from the demo's local runs", {
      size: 18,
      weight: 'bold',
    }),
    text(
      MARGIN,
      50,
      "Each run is one period of the dashboard's graphs (in AWS, one refresh interval); the widgets are the synthesized template's.",
      { size: 12, color: MUTED },
    ),
    ...runs.map((run, index) => text(MARGIN, 68 + index * 16, run.title, { size: 12 })),
  ];
  for (const panel of panels) {
    const box = {
      x: MARGIN + panel.x * COLUMN + GAP / 2,
      y: header + panel.y * ROW + GAP / 2,
      width: panel.width * COLUMN - GAP,
      height: panel.height * ROW - GAP,
    };
    parts.push(
      `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="4" fill="#ffffff" stroke="#d5dbdb"/>`,
      text(box.x + 10, box.y + 20, panel.title, { size: 13, weight: 'bold' }),
      ...(panel.kind === 'alarms' ? drawAlarms(panel, box, runs) : drawGraph(panel, box, runs)),
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

function drawAlarms(panel: AlarmPanel, box: Box, runs: readonly PictureRun[]): string[] {
  const names = readableAlarmNames(panel.alarmIds);
  const tileWidth = (box.width - 20) / Math.max(1, panel.alarmIds.length);
  return panel.alarmIds.flatMap((id, index) => {
    const x = box.x + 10 + index * tileWidth;
    const y = box.y + 32;
    const nameLines = wrap(names[index] ?? id, tileWidth - 20, 11);
    return [
      `<rect x="${x + 2}" y="${y}" width="${tileWidth - 4}" height="${box.height - 42}" rx="3" fill="#fafafa" stroke="#e9ebed"/>`,
      ...nameLines.map((line, lineIndex) =>
        text(x + 10, y + 17 + lineIndex * 14, line, { size: 11, weight: 'bold' }),
      ),
      ...runs.flatMap((run, runIndex) => {
        const state = alarmState(id, run);
        const label = state === undefined || state === 'NOT_EVALUATED' ? 'no local data' : state;
        const color = STATE_COLORS[state ?? 'NOT_EVALUATED'] ?? MUTED;
        const rowY = y + 24 + nameLines.length * 14 + runIndex * 18;
        return [
          `<circle cx="${x + 15}" cy="${rowY - 4}" r="5" fill="${color}"/>`,
          text(x + 25, rowY, `Run ${runIndex + 1}: ${label}`, { size: 11, color }),
        ];
      }),
    ];
  });
}

/** `RefresherTokenExpiryAlarm1AD69C27` as `Token Expiry`: no shared prefix, hash or suffix. */
export function readableAlarmNames(alarmIds: readonly string[]): string[] {
  const names = alarmIds.map((id) => displayIdOf(id).replace(/Alarm$/, ''));
  const first = names[0] ?? '';
  let prefix = 0;
  while (
    prefix < first.length &&
    names.length > 1 &&
    names.every((name) => name[prefix] === first[prefix])
  ) {
    prefix += 1;
  }
  // Cut the prefix back to a word boundary (an upper-case letter).
  while (prefix > 0 && !/[A-Z]/.test(first[prefix] ?? '')) prefix -= 1;
  return names.map((name) => name.slice(prefix).replace(/([a-z])([A-Z])/g, '$1 $2'));
}

function drawGraph(panel: GraphPanel, box: Box, runs: readonly PictureRun[]): string[] {
  const parts: string[] = [];
  // Legend: a swatch and the label of each series, flowing over as many lines as it needs.
  let legendX = box.x + 10;
  let legendY = box.y + 40;
  for (const series of panel.series) {
    const local = hasLocalCounterpart(series, runs);
    const label = local ? series.label : `${series.label} (AWS only)`;
    const itemWidth = 16 + textWidth(label, 11) + 14;
    if (legendX + itemWidth > box.x + box.width - 10 && legendX > box.x + 10) {
      legendX = box.x + 10;
      legendY += 16;
    }
    parts.push(
      `<rect x="${legendX}" y="${legendY - 9}" width="10" height="10" fill="${series.color}"/>`,
      text(legendX + 14, legendY, label, { size: 11, color: MUTED }),
    );
    legendX += itemWidth;
  }

  const plot = {
    left: box.x + 56,
    right: box.x + box.width - 16,
    top: legendY + 22,
    bottom: box.y + box.height - 26,
  };
  const values = runs.map((run) => panel.series.map((series) => seriesValue(series, run)));
  const heights = values.map((perSeries) =>
    panel.stacked
      ? perSeries.reduce<number>((sum, value) => sum + (value ?? 0), 0)
      : Math.max(0, ...perSeries.map((value) => value ?? 0)),
  );
  const top = niceCeiling(
    1.08 * Math.max(...heights, ...panel.annotations.map((annotation) => annotation.value)),
  );
  const yOf = (value: number): number => plot.bottom - (value / top) * (plot.bottom - plot.top);

  for (const tick of [0, top / 2, top]) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${yOf(tick)}" y2="${yOf(tick)}" stroke="#e9ebed"/>`,
      text(plot.left - 6, yOf(tick) + 4, formatValue(tick), {
        size: 11,
        color: MUTED,
        anchor: 'end',
      }),
    );
  }
  if (panel.unit !== '')
    parts.push(text(box.x + 10, plot.top - 8, panel.unit, { size: 10, color: MUTED }));
  parts.push(
    `<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="${MUTED}"/>`,
  );

  for (const annotation of panel.annotations.filter((entry) => entry.fillBelow)) {
    const y = yOf(annotation.value);
    parts.push(
      `<rect x="${plot.left}" y="${y}" width="${plot.right - plot.left}" height="${plot.bottom - y}" fill="${annotation.color}" fill-opacity="0.08"/>`,
    );
  }

  const slot = (plot.right - plot.left) / Math.max(1, runs.length);
  if (!panel.series.some((series) => hasLocalCounterpart(series, runs))) {
    parts.push(
      text(
        (plot.left + plot.right) / 2,
        (plot.top + plot.bottom) / 2,
        `No local counterpart: ${[...new Set(panel.series.map((series) => series.source.namespace))].join(', ')} metrics exist in AWS only`,
        { size: 12, color: MUTED, anchor: 'middle' },
      ),
    );
  } else {
    runs.forEach((_run, runIndex) => {
      const perSeries = values[runIndex] ?? [];
      const groupWidth = slot * 0.6;
      const groupLeft = plot.left + runIndex * slot + (slot - groupWidth) / 2;
      parts.push(
        ...(panel.stacked
          ? stackedBar(panel.series, perSeries, groupLeft, groupWidth, yOf)
          : sideBySideBars(panel.series, perSeries, groupLeft, groupWidth, yOf)),
      );
    });
  }
  // Over the bars: a threshold is what a bar is read against.
  for (const annotation of panel.annotations) {
    const y = yOf(annotation.value);
    const label = `${annotation.label} (${formatValue(annotation.value)})`;
    const labelWidth = textWidth(label, 11) + 8;
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${y}" y2="${y}" stroke="${annotation.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<rect x="${plot.right - labelWidth}" y="${y - 16}" width="${labelWidth}" height="14" rx="2" fill="#ffffff" fill-opacity="0.9"/>`,
      text(plot.right - 4, y - 5, label, { size: 11, color: annotation.color, anchor: 'end' }),
    );
  }
  runs.forEach((_run, runIndex) => {
    parts.push(
      text(plot.left + (runIndex + 0.5) * slot, plot.bottom + 16, `Run ${runIndex + 1}`, {
        size: 11,
        color: MUTED,
        anchor: 'middle',
      }),
    );
  });
  return parts;
}

function stackedBar(
  series: readonly Series[],
  values: readonly (number | undefined)[],
  left: number,
  width: number,
  yOf: (value: number) => number,
): string[] {
  const parts: string[] = [];
  let base = 0;
  series.forEach((entry, index) => {
    const value = values[index] ?? 0;
    if (value <= 0) return;
    const y = yOf(base + value);
    const height = yOf(base) - y;
    parts.push(
      `<rect x="${left}" y="${y}" width="${width}" height="${height}" fill="${entry.color}"/>`,
    );
    if (height >= 14) {
      parts.push(
        text(left + width / 2, y + height / 2 + 4, `${entry.label}: ${formatValue(value)}`, {
          size: 11,
          color: '#ffffff',
          anchor: 'middle',
        }),
      );
    }
    base += value;
  });
  const total = values.some((value) => value !== undefined) ? formatValue(base) : 'no data';
  parts.push(
    text(left + width / 2, yOf(base) - 5, total, { size: 11, weight: 'bold', anchor: 'middle' }),
  );
  return parts;
}

function sideBySideBars(
  series: readonly Series[],
  values: readonly (number | undefined)[],
  left: number,
  width: number,
  yOf: (value: number) => number,
): string[] {
  const barWidth = width / Math.max(1, series.length);
  return series.flatMap((entry, index) => {
    const value = values[index];
    const x = left + index * barWidth;
    const center = x + barWidth / 2;
    if (value === undefined) {
      return [text(center, yOf(0) - 5, '–', { size: 11, color: MUTED, anchor: 'middle' })];
    }
    const y = yOf(value);
    return [
      `<rect x="${x + 2}" y="${y}" width="${Math.max(1, barWidth - 4)}" height="${Math.max(1, yOf(0) - y)}" fill="${entry.color}"/>`,
      text(center, y - 5, formatValue(value), { size: 11, anchor: 'middle', halo: true }),
    ];
  });
}

/** Writes the picture as `dashboard.svg` into `dir` (a new temporary folder unless given). */
export function writeDashboardPicture(
  template: unknown,
  runs: readonly PictureRun[],
  dir: string = mkdtempSync(join(tmpdir(), 'tiktok-shop-demo-')),
): string {
  const path = join(dir, 'dashboard.svg');
  writeFileSync(path, renderDashboardPicture(template, runs));
  return path;
}
