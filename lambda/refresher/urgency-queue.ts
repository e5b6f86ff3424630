// The due shops waiting for a refresh, most urgent first, shared by the workers that fill it and
// those that take from it.
interface Entry<T> {
  readonly key: number;
  readonly item: T;
}

/**
 * Work waiting its turn, the most urgent (smallest key) first, filled by some workers while
 * others take from it: `take` waits for an item until the queue is closed and empty.
 */
export class UrgencyQueue<T> {
  readonly #heap: Entry<T>[] = [];
  readonly #takers: ((item: T | undefined) => void)[] = [];
  #closed = false;

  get size(): number {
    return this.#heap.length;
  }

  put(key: number, item: T): void {
    if (this.#closed) throw new Error('put on a closed queue');
    const taker = this.#takers.shift();
    if (taker !== undefined) {
      taker(item);
      return;
    }
    this.#heap.push({ key, item });
    for (let child = this.#heap.length - 1; child > 0; ) {
      const parent = (child - 1) >> 1;
      if (!this.#less(child, parent)) break;
      this.#swap(child, parent);
      child = parent;
    }
  }

  /** No more items will come: takers get what is left, then undefined. */
  close(): void {
    this.#closed = true;
    for (const taker of this.#takers.splice(0)) taker(undefined);
  }

  /** The most urgent item, waiting for one while the queue is open and empty. */
  take(): Promise<T | undefined> {
    if (this.#heap.length > 0 || this.#closed) return Promise.resolve(this.#pop());
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  #pop(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top?.item;
    heap[0] = last;
    for (let parent = 0; ; ) {
      let smallest = parent;
      for (const child of [2 * parent + 1, 2 * parent + 2]) {
        if (child < heap.length && this.#less(child, smallest)) smallest = child;
      }
      if (smallest === parent) return top.item;
      this.#swap(parent, smallest);
      parent = smallest;
    }
  }

  #less(a: number, b: number): boolean {
    return (this.#heap[a]?.key ?? 0) < (this.#heap[b]?.key ?? 0);
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    [heap[a], heap[b]] = [heap[b] as Entry<T>, heap[a] as Entry<T>];
  }
}
