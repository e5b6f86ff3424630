import { describe, expect, it } from 'vitest';
import { UrgencyQueue } from '../../lambda/refresher/urgency-queue.js';

describe('Class: UrgencyQueue', () => {
  it('hands out the most urgent item first, whatever the order they came in', async () => {
    // Prepare
    const queue = new UrgencyQueue<string>();
    const keys = [50, 10, 40, 30, 20, 60, 0, 70, 10];
    keys.forEach((key, index) => {
      queue.put(key, `${key}:${index}`);
    });
    queue.close();

    // Act
    const taken: (string | undefined)[] = [];
    for (let item = await queue.take(); item !== undefined; item = await queue.take()) {
      taken.push(item);
    }

    // Assess
    expect(taken.map((item) => Number(item?.split(':')[0]))).toEqual(
      [...keys].sort((a, b) => a - b),
    );
    expect(queue.size).toBe(0);
  });

  it('keeps a taker waiting until an item comes, and hands it over directly', async () => {
    const queue = new UrgencyQueue<string>();

    const waiting = queue.take();
    queue.put(5, 'late');

    await expect(waiting).resolves.toBe('late');
    expect(queue.size).toBe(0);
  });

  it('answers undefined to every waiting taker once closed and empty', async () => {
    const queue = new UrgencyQueue<string>();
    const takers = [queue.take(), queue.take()];

    queue.close();

    await expect(Promise.all(takers)).resolves.toEqual([undefined, undefined]);
    await expect(queue.take()).resolves.toBeUndefined();
  });

  it('still hands out what is left after closing', async () => {
    const queue = new UrgencyQueue<number>();
    queue.put(2, 2);
    queue.put(1, 1);

    queue.close();

    expect([await queue.take(), await queue.take(), await queue.take()]).toEqual([1, 2, undefined]);
  });

  it('refuses an item once closed', () => {
    const queue = new UrgencyQueue<number>();
    queue.close();

    expect(() => queue.put(1, 1)).toThrow('put on a closed queue');
  });
});
