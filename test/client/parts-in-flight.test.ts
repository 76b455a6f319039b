import { describe, expect, it } from 'vitest';
import { PartsInFlight } from '../../src/client/parts-in-flight.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PartsInFlight', () => {
  it('runs at most `limit` uploads at once and waits for all of them', async () => {
    const parts = new PartsInFlight(3, new AbortController());
    let running = 0;
    let most = 0;
    let done = 0;
    for (let index = 0; index < 12; index++) {
      expect(await parts.start(async () => {
        most = Math.max(most, ++running);
        await tick(index % 4);
        running--;
        done++;
      })).toBe(true);
    }
    await parts.settled();
    expect({ most, done, failure: parts.failure }).toEqual({ most: 3, done: 12, failure: undefined });
  });

  it('keeps the first failure, aborts the uploads in flight and starts no more', async () => {
    const stop = new AbortController();
    const parts = new PartsInFlight(2, stop);
    const aborted: boolean[] = [];
    await parts.start(async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      aborted.push(signal.aborted);
      throw new Error('aborted too');
    });
    await parts.start(async () => {
      await tick();
      throw new Error('first');
    });
    expect(await parts.start(async () => { throw new Error('never started'); })).toBe(false);
    await parts.settled();
    expect(parts.stopped).toBe(true);
    expect((parts.failure?.error as Error).message).toBe('first');
    expect({ aborted, signal: stop.signal.aborted }).toEqual({ aborted: [true], signal: true });
  });

  it('abandon stops the uploads in flight and waits for them to end', async () => {
    const parts = new PartsInFlight(4, new AbortController());
    let ended = 0;
    for (let index = 0; index < 4; index++) {
      await parts.start(async (signal) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        ended++;
      });
    }
    await parts.abandon();
    expect(ended).toBe(4);
  });
});
