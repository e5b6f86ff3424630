/**
 * An app's key and secret, as its credentials secret holds them (`{"app_key","app_secret"}`).
 * A plain type, checked against the schema in token.ts, so that the reader's published
 * declarations need no zod: zod's own declarations do not typecheck under every user setting.
 */
export interface AppCredentials {
  readonly app_key: string;
  readonly app_secret: string;
  readonly [field: string]: unknown;
}
