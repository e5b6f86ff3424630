import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  STACK_NAME,
  TikTokShopTokenRefresherStack,
  type TikTokShopTokenRefresherStackProps,
} from '../../infra/stack.js';
import { TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import type { TikTokShopTokenRefresherProps } from '../../infra/token-refresher-props.js';

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

export interface ProductVariant {
  readonly stack: TikTokShopTokenRefresherStack;
  readonly template: Template;
}

/**
 * The product stack with the given props. Without `outdir` bundling is skipped, as for
 * `synthesizeVariant`; with it, every function is bundled into `outdir`, for a test that loads
 * a bundle.
 */
export function synthesizeProduct(
  props: TikTokShopTokenRefresherStackProps,
  outdir?: string,
): ProductVariant {
  const app = new App({
    ...(outdir === undefined ? { context: { 'aws:cdk:bundling-stacks': [] } } : { outdir }),
    builtinCloudFormationValidation: false,
  });
  const stack = new TikTokShopTokenRefresherStack(app, STACK_NAME, props);
  return { stack, template: Template.fromStack(stack) };
}
