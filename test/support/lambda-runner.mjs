// Serves one invocation of a bundled Lambda handler in this fresh process, the way the Lambda
// runtime would: import the bundle, call the export with the event and a context whose clock
// runs out at the function's timeout. The outcome goes to a file so that stdout holds only what
// the function itself printed (its logs and EMF metrics).
// Usage: node lambda-runner.mjs <bundle> <export> <event JSON | @file> <timeout ms> <outcome file>
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, exportName, eventArgument, timeoutMs, outcomeFile] = process.argv.slice(2);
// A large event comes in a file: no JSON text starts with '@'.
const eventJson = eventArgument.startsWith('@')
  ? readFileSync(eventArgument.slice(1), 'utf8')
  : eventArgument;
const started = Date.now();
const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  logStreamName: 'local',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, started + Number(timeoutMs) - Date.now()),
};

let outcome;
// Linux carries the parent's peak RSS into a forked child's ru_maxrss (a bench process holding a
// large local store shows its own size there), so the function's own peak is also sampled.
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);
try {
  const module = await import(pathToFileURL(bundle).href);
  const initMs = Date.now() - started;
  const result = await module[exportName](JSON.parse(eventJson), context);
  outcome = { result, initMs, durationMs: Date.now() - started - initMs };
} catch (error) {
  // What the Lambda runtime reports for a failed invocation: the error's class and message.
  outcome = {
    error: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? String(error) },
  };
}
// Peak memory over the whole process in KB (what Lambda reports as "Max Memory Used") and the
// CPU time it used, for benchmarks.
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const usage = process.resourceUsage();
const cpuMs = Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000);
writeFileSync(
  outcomeFile,
  JSON.stringify({
    ...outcome,
    maxRssKb: usage.maxRSS,
    sampledPeakRssKb: Math.round(peakRss / 1024),
    cpuMs,
  }),
);
