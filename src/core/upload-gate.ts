import type { PendingContentGrant } from './download-links.js';
import { BoxError } from './errors.js';
import type { UserRecord } from './model.js';

/** What the operator is asked about: an upload about to start, or about to become a file. */
export interface UploadDescription {
  kind: 'session' | 'simple';
  sessionId: string | null;
  /** The folder as the user names it ("0" for their root). */
  folderId: string;
  /** The file a new version is for; null for a new file. */
  fileId: string | null;
  name: string;
  /** Null where it is not known yet: a simple upload before its bytes are read. */
  size: number | null;
}

/** The joined bytes the operator may read before they become a file. */
export interface PendingContent {
  sha1: string;
  /** What the gate signs a short-lived link to (core/download-links.ts). */
  grant: PendingContentGrant;
  /** The base URL this server's links are reached under, as the client reached it. */
  linkBase: string;
}

export type GateVerdict =
  | { allowed: true }
  /** The operator refused; `abort` asks that a refused session be aborted rather than kept. */
  | { refused: { event: GateEvent; message: string; abort: boolean } }
  /** The operator could not be asked, and the gate is set to refuse then. */
  | { unavailable: { event: GateEvent; retryAfterSeconds: number } };

export type GateEvent = 'pre-create' | 'pre-commit';

/**
 * Where the operator may stop an upload (the blocking hooks, src/events/operator-hook.ts). The core
 * asks it after its own checks pass and before anything is recorded, so a refusal leaves no file and
 * no event behind.
 */
export interface UploadGate {
  preCreate(user: UserRecord, upload: UploadDescription): Promise<GateVerdict>;
  preCommit(user: UserRecord, upload: UploadDescription, content: PendingContent): Promise<GateVerdict>;
}

/** The gate when no hook is configured: everything passes. */
export const OPEN_GATE: UploadGate = {
  preCreate: async () => ({ allowed: true }),
  preCommit: async () => ({ allowed: true }),
};

/** A folder as its owner names it: their root is "0" on the wire. */
export function publicFolderId(user: UserRecord, folderId: string): string {
  return folderId === user.rootFolderId ? '0' : folderId;
}

/** A verdict as the client hears it: nothing when allowed, else the Box error to throw. */
export function gateError(verdict: GateVerdict): BoxError | undefined {
  if ('refused' in verdict) {
    return new BoxError('forbidden_by_policy', undefined, {
      contextInfo: { hook: verdict.refused.event, message: verdict.refused.message },
    });
  }
  if ('unavailable' in verdict) {
    return new BoxError('unavailable', 'The server\'s upload policy could not be checked; try again shortly', {
      contextInfo: { hook: verdict.unavailable.event }, retryAfterSeconds: verdict.unavailable.retryAfterSeconds,
    });
  }
  return undefined;
}
