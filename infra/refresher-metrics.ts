// The refresher function's metrics as CloudWatch metric objects: one definition of each, used by
// the construct's `metricXxx` methods, its alarms and its dashboard.
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC } from '../lambda/shared/contract.js';
import { serviceMetric } from './service-metric.js';

/**
 * Builds the metrics one refresher's function emits, under its `service` dimension and run
 * period. Each is documented where users meet it: the construct's method of the same name.
 */
export class RefresherMetricFactory {
  /**
   * @param serviceName the function's POWERTOOLS_SERVICE_NAME, the `service` dimension
   * @param period how often the function runs: one data point per run
   */
  constructor(
    public readonly serviceName: string,
    public readonly period: Duration,
  ) {}

  /** A metric the function emits, with the namespace, `service` dimension and run period set. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return serviceMetric(this.serviceName, this.period, metricName, props);
  }

  public metricTokensRefreshed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensRefreshed, props);
  }

  public metricTokensSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensSkipped, props);
  }

  public metricTokensSuperseded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensSuperseded, props);
  }

  public metricRefreshFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshFailures, props);
  }

  public metricReauthorizationRequired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.reauthorizationRequired, props);
  }

  public metricTransientFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.transientFailures, props);
  }

  public metricUnexpectedResponses(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.unexpectedResponses, props);
  }

  public metricMalformedSecrets(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.malformedSecrets, props);
  }

  public metricTokensNotStored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensNotStored, props);
  }

  public metricTokensNotCurrent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensNotCurrent, props);
  }

  public metricSellersChanged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.sellersChanged, props);
  }

  public metricRefreshTokensExpired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshTokensExpired, props);
  }

  public metricAnswersTrimmed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.answersTrimmed, props);
  }

  public metricOversizedAnswers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.oversizedAnswers, props);
  }

  public metricEventPublishFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.eventPublishFailures, props);
  }

  public metricAuthorizationExpiring(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.authorizationExpiring, props);
  }

  /** The smallest remaining access-token lifetime across shops, in seconds: its minimum, not sum. */
  public metricMinAccessTokenLifetime(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.minAccessTokenLifetime, {
      statistic: cloudwatch.Stats.MINIMUM,
      ...props,
    });
  }
}
