import { expect } from 'vitest';
import { BoxError } from '../../src/core/errors.js';

/** The Box error `run` throws; fails the test when it throws nothing or something else. */
export function boxErrorFrom(run: () => unknown): BoxError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BoxError);
    return error as BoxError;
  }
  throw new Error('expected a BoxError, but nothing was thrown');
}
