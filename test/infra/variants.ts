import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  TikTokShopTokenRefresher,
  type TikTokShopTokenRefresherProps,
} from '../../infra/token-refresher';

export interface Variant {
  readonly stack: Stack;
  readonly refresher: TikTokShopTokenRefresher;
  readonly template: Template;
}

/**
 * The construct alone in a stack, for props the product stack does not expose; `props` may
 * build resources in the stack first (a key, a topic). Bundling is
 * skipped (the bundle is the same for every variant, and `synthesizeRefresher` checks it), which
 * keeps one variant well under a second.
 */
export function synthesizeVariant(
  props: TikTokShopTokenRefresherProps | ((stack: Stack) => TikTokShopTokenRefresherProps),
  extend: (stack: Stack, refresher: TikTokShopTokenRefresher) => void = () => {},
): Variant {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, 'Variant');
  const refresher = new TikTokShopTokenRefresher(
    stack,
    'Refresher',
    typeof props === 'function' ? props(stack) : props,
  );
  extend(stack, refresher);
  return { stack, refresher, template: Template.fromStack(stack) };
}
