import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { figure } from '../bench/figures.js';
import { callsPerSkippedShop, shopOutcomes, writesIn, writeTimeline } from '../bench/fleet.js';
import {
  median,
  millisecondsDelta,
  printedRatio,
  renderTable,
  styleFor,
  visibleLength,
} from '../bench/format.js';
import { describeRounds, sequentialRounds } from '../bench/rounds.js';
import { decodeSegment, growth, packageOf, sizeBySource, UNMAPPED } from '../bench/source-map.js';

describe('Function: median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow('median of no values');
  });
});

describe('Function: printedRatio', () => {
  it('judges a ratio as it is printed, to two decimals', () => {
    expect(printedRatio(1.2049)).toBe(1.2);
    expect(printedRatio(1.2051)).toBe(1.21);
  });
});

describe('Function: millisecondsDelta', () => {
  it('always shows the sign', () => {
    expect(millisecondsDelta(24.4)).toBe('+24 ms');
    expect(millisecondsDelta(-2.2)).toBe('−2 ms');
    expect(millisecondsDelta(0)).toBe('+0 ms');
  });
});

describe('Function: renderTable', () => {
  it('pads columns to the widest cell and right-aligns numbers', () => {
    // Act
    const lines = renderTable(
      [{ header: 'shop' }, { header: 'ms', align: 'right' }],
      [
        ['a', '5'],
        ['bbbb', '1234'],
      ],
    );

    // Assess
    expect(lines).toEqual(['  shop    ms', '  ────  ────', '  a        5', '  bbbb  1234']);
  });

  it('measures coloured cells by what the terminal shows', () => {
    const style = styleFor({ isTTY: true }, {});
    const lines = renderTable([{ header: 'result' }, { header: 'x' }], [[style.good('PASS'), 'y']]);

    expect(visibleLength(lines[2] ?? '')).toBe(visibleLength(lines[0] ?? ''));
  });
});

describe('Function: styleFor', () => {
  it('colours a terminal', () => {
    expect(styleFor({ isTTY: true }, {}).bad('MISS')).toBe('\u001b[31mMISS\u001b[39m');
  });

  it('uses no colours in a pipe or under NO_COLOR', () => {
    expect(styleFor({ isTTY: false }, {}).bad('MISS')).toBe('MISS');
    expect(styleFor({ isTTY: true }, { NO_COLOR: '1' }).bad('MISS')).toBe('MISS');
  });
});

describe('Function: figure', () => {
  const spec = { name: 'x', measured: '1.3x', limit: 1.15, target: '≤ 1.15x' };

  it('passes at or below the limit and asks no reason', () => {
    const why = vi.fn(() => 'never asked');

    const result = figure({ ...spec, value: 1.15, why });

    expect(result.pass).toBe(true);
    expect(result).not.toHaveProperty('why');
    expect(why).not.toHaveBeenCalled();
  });

  it('misses above the limit and keeps the reason', () => {
    const result = figure({ ...spec, value: 1.3, why: () => 'zod and Powertools' });

    expect(result).toMatchObject({ pass: false, why: 'zod and Powertools' });
  });
});

describe('Function: decodeSegment', () => {
  it('decodes Base64 VLQ fields, signs and continuations included', () => {
    expect(decodeSegment('AAAA')).toEqual([0, 0, 0, 0]);
    expect(decodeSegment('GCAA')).toEqual([3, 1, 0, 0]);
    expect(decodeSegment('D')).toEqual([-1]);
    expect(decodeSegment('gB')).toEqual([16]);
  });

  it('refuses a character outside Base64', () => {
    expect(() => decodeSegment('A*')).toThrow('invalid source map segment');
  });
});

describe('Function: sizeBySource', () => {
  it('counts each run of generated code for the source it maps to', () => {
    // Prepare: line 1 maps columns 0–2 to a.ts and 3–5 to b.ts; line 2 maps 0–1 to a.ts and
    // leaves 2–3 to a segment without a source.
    const code = 'abcdef\nghij';
    const map = { sources: ['a.ts', 'b.ts'], mappings: 'AAAA,GCAA;ADAA,E' };

    // Act
    const sizes = sizeBySource(code, map);

    // Assess
    expect(Object.fromEntries(sizes)).toEqual({ 'a.ts': 5, 'b.ts': 3, [UNMAPPED]: 3 });
  });

  it('accounts for every character of a real esbuild bundle', async () => {
    // Prepare
    const built = await build({
      stdin: {
        contents: "import { two } from './two'; export const one = () => two() + 1;",
        resolveDir: '/virtual',
        sourcefile: 'one.ts',
        loader: 'ts',
      },
      plugins: [
        {
          name: 'virtual',
          setup(plugin) {
            plugin.onResolve({ filter: /^\.\/two$/ }, () => ({ path: '/virtual/two.ts' }));
            plugin.onLoad({ filter: /two\.ts$/ }, () => ({
              contents: 'export const two = () => 2 * Math.random();',
              loader: 'ts',
            }));
          },
        },
      ],
      bundle: true,
      format: 'esm',
      minify: true,
      sourcemap: 'external',
      outfile: 'out.js',
      write: false,
    });
    const code = built.outputFiles.find((file) => file.path.endsWith('.js'))?.text ?? '';
    const map = JSON.parse(
      built.outputFiles.find((file) => file.path.endsWith('.map'))?.text ?? '',
    );

    // Act
    const sizes = sizeBySource(code, map);

    // Assess
    const total = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    expect(total).toBe(code.length);
    expect([...sizes.keys()].filter((key) => key !== UNMAPPED).sort()).toEqual(
      map.sources.slice().sort(),
    );
  });
});

describe('Function: packageOf', () => {
  it('names the innermost npm package, scoped or not', () => {
    expect(packageOf('node_modules/zod/v4/mini/index.js')).toBe('zod');
    expect(packageOf('node_modules/@aws-sdk/core/dist-es/index.js')).toBe('@aws-sdk/core');
    expect(packageOf('node_modules/@aws-sdk/a/node_modules/@smithy/b/dist-es/x.js')).toBe(
      '@smithy/b',
    );
  });

  it("names the repository's top folder for the project's own code", () => {
    expect(packageOf('lambda/handler.ts')).toBe('lambda/');
    expect(packageOf('floor-handler.ts')).toBe('floor-handler.ts');
  });
});

describe('Function: growth', () => {
  it('lists what grew, largest first, and leaves out what shrank', () => {
    const bigger = new Map([
      ['zod', 20],
      ['sdk', 100],
      ['lambda/', 15],
    ]);
    const smaller = new Map([
      ['sdk', 110],
      ['lambda/', 5],
    ]);

    expect(growth(bigger, smaller)).toEqual([
      ['zod', 20],
      ['lambda/', 10],
    ]);
  });
});

describe('Function: sequentialRounds', () => {
  it('puts calls sent side by side in one round and a call that waited in the next', () => {
    // Prepare: arrival order is not log order.
    const calls = [
      { at: 1_210, label: 'C' },
      { at: 1_000, label: 'A' },
      { at: 1_105, label: 'B' },
      { at: 1_002, label: 'A' },
      { at: 1_230, label: 'D' },
    ];

    // Act
    const rounds = sequentialRounds(calls, 100);

    // Assess
    expect(rounds).toEqual([['A', 'A'], ['B'], ['C', 'D']]);
    expect(describeRounds(rounds)).toBe('A ×2 → B → C + D');
  });

  it('has no round for no call', () => {
    expect(sequentialRounds([], 100)).toEqual([]);
  });
});

describe('Function: shopOutcomes', () => {
  it("counts the function's per-shop log lines by outcome", () => {
    const logs = [
      '{"level":"INFO","message":"refresh run started","shops":3}',
      '{"level":"INFO","message":"shop refreshed","shop":"a"}',
      '{"level":"INFO","message":"shop skipped","shop":"b"}',
      '{"level":"ERROR","message":"shop failed","shop":"c"}',
      '{"level":"INFO","message":"shop refreshed","shop":"d"}',
      '(node:1) Warning: not a JSON line',
    ];

    expect(Object.fromEntries(shopOutcomes(logs))).toEqual({
      refreshed: 2,
      skipped: 1,
      failed: 1,
    });
  });
});

describe('Function: callsPerSkippedShop', () => {
  it('counts calls naming no secret and those naming a skipped shop, by name or ARN', () => {
    // Prepare
    const skipped = new Set(['tokens/a', 'tokens/b']);
    const arnOfB = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tokens/b-AbCdEf';

    // Act
    const perShop = callsPerSkippedShop(
      [
        {},
        { secretId: 'tokens/a' },
        { secretId: arnOfB },
        { secretId: 'tokens/due' },
        { secretId: 'app-credentials' },
      ],
      skipped,
    );

    // Assess
    expect(perShop).toBe(1.5);
  });
});

describe('Function: writesIn', () => {
  it('adds the calls that count against the write quota', () => {
    const calls = { GetSecretValue: 20, PutSecretValue: 3, UpdateSecretVersionStage: 4 };

    expect(writesIn(calls)).toBe(7);
  });
});

describe('Function: writeTimeline', () => {
  it('times admitted writes from the first call and gives their pace', () => {
    const calls = [
      { operation: 'ListSecrets', at: 1_000, status: 200 },
      { operation: 'PutSecretValue', at: 1_500, status: 200 },
      { operation: 'PutSecretValue', at: 1_510, status: 400 },
      { operation: 'UpdateSecretVersionStage', at: 1_750, status: 200 },
      { operation: 'GetSecretValue', at: 1_800, status: 200 },
      { operation: 'UpdateSecretVersionStage', at: 2_000, status: 200 },
    ];

    expect(writeTimeline(calls)).toEqual({
      firstWriteMs: 500,
      lastWriteMs: 1_000,
      writesPerSecond: 4,
    });
  });
});
