import { bundleFunction } from '../../infra/bundle.js';

export interface FloorBundle {
  readonly dir: string;
  readonly handlerPath: string;
  readonly handlerExport: string;
}

/** Builds floor-handler.ts into `dir` exactly as the package's functions are built. */
export async function buildFloor(dir: string): Promise<FloorBundle> {
  const handlerPath = await bundleFunction('test/bench/floor-handler.ts', dir);
  return { dir, handlerPath, handlerExport: 'handler' };
}
