import { randomBytes } from 'node:crypto';

/** Box's session ids are 32 upper-case hex characters (e.g. `F971964745A5CD0C001BBE4E58196BFD`). */
const SESSION_ID = /^[0-9A-F]{32}$/;

export function newSessionId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** Session ids are compared upper-case, so a client that lower-cases them still finds its session. */
export function normalizeSessionId(raw: string): string | undefined {
  const id = raw.toUpperCase();
  return SESSION_ID.test(id) ? id : undefined;
}

/** Box's part ids are 8 upper-case hex characters (e.g. `6F2D3486`). */
export function newPartId(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}

/** A short random id for one attempt at writing a part, so two attempts never share a blob name. */
export function newAttemptId(): string {
  return randomBytes(6).toString('hex');
}

/** File, folder, version and user ids are decimal strings, as Box's are. */
const ITEM_ID = /^[0-9]{1,19}$/;
/** The largest id a store can hold (PostgreSQL's bigint, SQLite's integer). */
const MAX_ITEM_ID = 2n ** 63n - 1n;

/** Whether an id could name an item; one past the stores' 64-bit range is simply not found. */
export function isItemId(raw: string): boolean {
  return ITEM_ID.test(raw) && BigInt(raw) <= MAX_ITEM_ID;
}
