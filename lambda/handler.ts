// Interim entry so the CDK construct can bundle while the core is written; replaced by the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
