// Refuses two refreshers of one app that would create secrets of the same name in the same
// account and region: synth would pass and the second deploy fail.
import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A secret a construct creates, by name, and where. */
interface SecretClaim {
  readonly path: string;
  readonly stack: Stack;
  readonly name: string;
}

/** The names claimed so far, per app (the root of the construct tree). */
const claimsByApp = new WeakMap<IConstruct, SecretClaim[]>();

/**
 * Records that `scope` creates the secret `name`, and throws when another construct of the same
 * app creates one of that name where it may be the same account and region (an environment left
 * to deploy time may be any).
 */
export function claimSecretName(scope: IConstruct, name: string): void {
  const claims = claimsByApp.get(scope.node.root) ?? [];
  const stack = Stack.of(scope);
  const path = scope.node.path;
  const other = claims.find(
    (claim) => claim.name === name && claim.path !== path && maySharePlace(stack, claim.stack),
  );
  if (other !== undefined) {
    throw new Error(
      `${path}: the secret ${name} would have the name of a secret of ${other.path}, in what may be the same account and region: give each refresher its own secretNamePrefix (such as 'staging/tiktok-shop/')`,
    );
  }
  claims.push({ path, stack, name });
  claimsByApp.set(scope.node.root, claims);
}

function maySharePlace(a: Stack, b: Stack): boolean {
  const same = (x: string, y: string) => Token.isUnresolved(x) || Token.isUnresolved(y) || x === y;
  return same(a.account, b.account) && same(a.region, b.region);
}
