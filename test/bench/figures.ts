/** A measured figure next to its target. Every target here is an upper bound. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  /** The value as a person reads it, with its unit and context. */
  readonly measured: string;
  readonly limit: number;
  readonly target: string;
  readonly pass: boolean;
  /** Why the target was missed, in one line. */
  readonly why?: string;
}

export function figure(spec: {
  name: string;
  value: number;
  measured: string;
  limit: number;
  target: string;
  /** Asked only when the target is missed. */
  why: () => string;
}): Figure {
  const pass = spec.value <= spec.limit;
  return {
    name: spec.name,
    value: spec.value,
    measured: spec.measured,
    limit: spec.limit,
    target: spec.target,
    pass,
    ...(pass ? {} : { why: spec.why() }),
  };
}
