/**
 * Where a bundle's size comes from, read from the source map that ships next to it: each run
 * of generated code is counted for the source file the map points it at. No second build is
 * needed, so the figures describe exactly the asset CDK deploys.
 */

export interface SourceMap {
  readonly sources: readonly string[];
  readonly mappings: string;
}

export const UNMAPPED = '(unmapped)';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** One mapping segment's fields (Base64 VLQ, each relative to the previous segment's). */
export function decodeSegment(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    if (digit < 0) throw new Error(`invalid source map segment ${segment}`);
    value += (digit & 31) * 2 ** shift;
    if ((digit & 32) !== 0) {
      shift += 5;
      continue;
    }
    values.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return values;
}

/**
 * Generated characters per source (UTF-16 units, as map columns count them: about bytes for
 * minified JS). Whatever no segment maps (the banner, newlines) is counted under UNMAPPED.
 */
export function sizeBySource(code: string, map: SourceMap): Map<string, number> {
  const sizes = new Map<string, number>();
  const add = (source: string, size: number): void => {
    if (size > 0) sizes.set(source, (sizes.get(source) ?? 0) + size);
  };
  const lines = code.split('\n');
  let sourceIndex = 0;
  map.mappings.split(';').forEach((mapped, lineIndex) => {
    const lineLength = lines[lineIndex]?.length ?? 0;
    const starts: { column: number; source: string | undefined }[] = [];
    let column = 0;
    for (const segment of mapped === '' ? [] : mapped.split(',')) {
      const [columnDelta = 0, sourceDelta] = decodeSegment(segment);
      column += columnDelta;
      if (sourceDelta !== undefined) sourceIndex += sourceDelta;
      starts.push({
        column,
        source: sourceDelta === undefined ? undefined : map.sources[sourceIndex],
      });
    }
    starts.forEach((start, index) => {
      if (start.source === undefined) return;
      add(start.source, (starts[index + 1]?.column ?? lineLength) - start.column);
    });
  });
  const mapped = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  add(UNMAPPED, code.length - mapped);
  return sizes;
}

/** The npm package a repository-relative source belongs to, else its top folder (`lambda/`). */
export function packageOf(repositoryPath: string): string {
  const inModules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(repositoryPath);
  if (inModules?.[1] !== undefined) return inModules[1];
  const slash = repositoryPath.indexOf('/');
  return slash < 0 ? repositoryPath : repositoryPath.slice(0, slash + 1);
}

/** What `bigger` holds beyond `smaller`, per key, largest first; keys that shrank are left out. */
export function growth(
  bigger: ReadonlyMap<string, number>,
  smaller: ReadonlyMap<string, number>,
): [string, number][] {
  return [...bigger]
    .map(([key, size]): [string, number] => [key, size - (smaller.get(key) ?? 0)])
    .filter(([, extra]) => extra > 0)
    .sort((a, b) => b[1] - a[1]);
}
