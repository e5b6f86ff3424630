/**
 * The critical path of an invocation, read from the local endpoints' call logs. With a fixed
 * latency on every call, calls that start within half a latency of each other were sent side by
 * side (one round trip); a later one had to wait for an answer first (a new round trip).
 */

export interface TimedCall {
  /** Arrival time at the endpoint, epoch ms. */
  readonly at: number;
  readonly label: string;
}

/** Labels of the calls in each sequential round trip, in order. */
export function sequentialRounds(calls: readonly TimedCall[], latencyMs: number): string[][] {
  const rounds: { start: number; labels: string[] }[] = [];
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    const current = rounds.at(-1);
    if (current !== undefined && call.at - current.start < latencyMs / 2) {
      current.labels.push(call.label);
    } else {
      rounds.push({ start: call.at, labels: [call.label] });
    }
  }
  return rounds.map((round) => round.labels);
}

/** `GetSecretValue ×2 → TikTok refresh`: each round's calls, repeated ones counted. */
export function describeRounds(rounds: readonly (readonly string[])[]): string {
  return rounds
    .map((labels) => {
      const counts = new Map<string, number>();
      for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
      return [...counts]
        .map(([label, count]) => (count > 1 ? `${label} ×${count}` : label))
        .join(' + ');
    })
    .join(' → ');
}
