// A metric one of the product's functions emits: the product's namespace, the function's
// `service` dimension, summed over a period. The refresher's and the callback's metrics use it.
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE } from '../lambda/shared/contract.js';

/**
 * @param serviceName the function's POWERTOOLS_SERVICE_NAME, the `service` dimension
 * @param period the default period; `props` may override it and anything else
 */
export function serviceMetric(
  serviceName: string,
  period: Duration,
  metricName: string,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic: cloudwatch.Stats.SUM,
    period,
    ...props,
  });
}
