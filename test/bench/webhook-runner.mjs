// Serves several deliveries in one fresh process, as one Lambda execution environment would:
// the first is the cold start (import included), the rest are warm. Timings go to a file, so
// that stdout holds only what the function printed.
// Usage: node webhook-runner.mjs <bundle> <events JSON file> <timeout ms> <outcome file>
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventsFile, timeoutMs, outcomeFile] = process.argv.slice(2);
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const started = performance.now();
const module = await import(pathToFileURL(bundle).href);
const importMs = performance.now() - started;
const answers = [];
for (const event of events) {
  const begun = performance.now();
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, begun + Number(timeoutMs) - performance.now()),
  };
  const result = await module.handler(event, context);
  answers.push({ ms: performance.now() - begun, status: result.statusCode, body: result.body });
}
writeFileSync(outcomeFile, JSON.stringify({ importMs, answers }));
