// The events that start a refresh run: the schedule's, and the run state machine's for each of
// its invocations.

/** The event the schedule sends: the handler treats a "Scheduled Event" envelope as a scheduled run. */
export const SCHEDULED_EVENT = {
  source: 'aws.scheduler',
  'detail-type': 'Scheduled Event',
  detail: {},
} as const;

/**
 * What the run state machine sends each invocation: a scheduled run whose shops left for lack of
 * time are the next invocation's, not a failure (the handler then returns `shopsLeft`).
 */
export const CHAINED_EVENT = { ...SCHEDULED_EVENT, detail: { chained: true } } as const;
