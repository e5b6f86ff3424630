// The refresher's apps: every app's credentials secret (created empty or adopted), how the
// functions name it, and which app a shop belongs to.
import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { APPS_ENV, appCredentialsSecretName, DEFAULT_APP, ENV } from '../lambda/shared/contract.js';
import type { AppEntry, ShopEntry, TikTokShopConsentRegion } from './refresher-props.js';
import { createEmptySecret } from './refresher-resources.js';

/** One app's credentials secret, and where its consent links send sellers. */
export interface AppCredentials {
  readonly app: string;
  readonly secret: secretsmanager.ISecret;
  /** How the functions name the secret: its name when created, its ARN when adopted. */
  readonly id: string;
  readonly consentRegion: TikTokShopConsentRegion;
}

/** How the created secrets are made. */
export interface AppCredentialsOptions {
  readonly secretNamePrefix: string;
  readonly encryptionKey: kms.IKey | undefined;
  readonly removalPolicy: RemovalPolicy;
}

/** An app's credentials secret: adopted, or created empty in `scope` under its predictable name. */
export function createAppCredentials(
  scope: Construct,
  { app, existingCredentialsSecret: adopted, consentRegion }: AppEntry,
  options: AppCredentialsOptions,
): AppCredentials {
  const secretName = appCredentialsSecretName(options.secretNamePrefix, app);
  const secret =
    adopted ??
    createEmptySecret(
      scope,
      app === DEFAULT_APP ? 'AppCredentialsSecret' : `AppCredentialsSecret-${app}`,
      {
        encryptionKey: options.encryptionKey,
        secretName,
        description:
          app === DEFAULT_APP
            ? 'TikTok Shop app credentials, as {"app_key":"...","app_secret":"..."}'
            : `TikTok Shop app credentials of app ${app}, as {"app_key":"...","app_secret":"..."}`,
        removalPolicy: options.removalPolicy,
        reason:
          'The app secret is issued by TikTok Partner Center and can only be renewed there; the owner updates this secret by hand when it does.',
      },
    );
  return {
    app,
    secret,
    // Literal names for created secrets: their secretName attribute is a token parsed from the ARN.
    id: adopted ? adoptedSecretId(adopted) : secretName,
    consentRegion,
  };
}

/** The full ARN when known (the only form that works across accounts), else the name. */
export function adoptedSecretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretName;
}

/** The apps of one refresher and the shops bound to them, answering which app a shop uses. */
export class AppDirectory {
  /** Every app's credentials secret, by app name. */
  public readonly secrets: Readonly<Record<string, secretsmanager.ISecret>>;
  private readonly shopApps: ReadonlyMap<string, string>;

  /** @param path the construct's path, which every refusal names */
  constructor(
    private readonly path: string,
    credentials: readonly AppCredentials[],
    shops: readonly ShopEntry[],
  ) {
    this.secrets = Object.fromEntries(credentials.map((c) => [c.app, c.secret]));
    this.shopApps = new Map(shops.map(({ name, app }) => [name, app]));
  }

  /**
   * The app of a shop: its binding in `shops`, else `wanted`, else the only app of the
   * deployment. Undefined for a shop onboarded at run time into a deployment of several apps
   * when `wanted` does not name one: its token secret's tag decides at run time.
   */
  public appOf(shop: string, wanted: string | undefined): string | undefined {
    const bound = this.shopApps.get(shop);
    if (bound !== undefined && wanted !== undefined && wanted !== bound) {
      throw new Error(
        `${this.path}: shop "${shop}" is bound to app "${bound}" in shops, not "${wanted}"`,
      );
    }
    if (wanted !== undefined) this.secretOf(wanted);
    const apps = Object.keys(this.secrets);
    return bound ?? wanted ?? (apps.length === 1 ? apps[0] : undefined);
  }

  /** The credentials secret of an app of the deployment; any other name is refused. */
  public secretOf(app: string): secretsmanager.ISecret {
    const secret = Object.hasOwn(this.secrets, app) ? this.secrets[app] : undefined;
    if (secret === undefined) {
      const known = Object.keys(this.secrets).join(', ');
      throw new Error(`${this.path}: no app "${app}" (apps: ${known})`);
    }
    return secret;
  }
}

/** The refresher's apps other than `default`, each as [app, how the functions name its secret]. */
export function otherAppSecretIds(apps: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(apps).filter(([app]) => app !== DEFAULT_APP);
}

/**
 * The environment that tells a function where the refresher's app credentials are: the
 * `default` app's secret, and the others' only when there are any (a one-app template stays
 * as it was).
 */
export function appCredentialsEnvironment(refresher: {
  readonly appCredentialsSecretId: string;
  readonly appCredentialsSecretIds: Readonly<Record<string, string>>;
}): Record<string, string> {
  const otherApps = otherAppSecretIds(refresher.appCredentialsSecretIds);
  return {
    [ENV.appCredentialsSecretId]: refresher.appCredentialsSecretId,
    ...(otherApps.length > 0 && {
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify(Object.fromEntries(otherApps)),
    }),
  };
}
