/** A shop is its token secret. */
export interface Shop {
  /** What Secrets Manager calls are made with: the configured name or ARN. */
  readonly id: string;
  /** The secret's name: what summaries, logs and events show. */
  readonly name: string;
  readonly arn?: string;
}

/** `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>` */
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[^:]*:\d*:secret:(.+)-[A-Za-z0-9]{6}$/;

export function shopFromId(id: string): Shop {
  const name = SECRET_ARN.exec(id)?.[1];
  return name === undefined ? { id, name: id } : { id, name, arn: id };
}
