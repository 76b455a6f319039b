import { BoxApiError, NetworkError, SourceChangedError, VerificationError } from './api.js';

/** What the user is told about a failure, and what they can do next. */
export interface Explained {
  message: string;
  /** The server's own words and request id, for an administrator. */
  detail: string | undefined;
  /** `retry` continues where it stopped; `restart` discards the session and starts from zero. */
  next: 'retry' | 'restart' | 'none';
}

type Subject = 'upload' | 'folder' | 'delete' | 'download' | 'browse' | 'sign-in';

/** Every Box error code the server can answer (src/core/errors.ts), in the user's terms. */
export function explainError(error: unknown, subject: Subject): Explained {
  if (error instanceof BoxApiError) {
    const detail = `${error.status} ${error.code}${error.serverMessage ? `: ${error.serverMessage}` : ''}${error.requestId ? ` (request id ${error.requestId})` : ''}`;
    const [message, next] = boxMessage(error, subject);
    return { message, detail, next };
  }
  if (error instanceof NetworkError) {
    return {
      message: subject === 'upload'
        ? 'The server cannot be reached. Check the connection, then retry: the upload continues where it stopped.'
        : 'The server cannot be reached. Check the connection and try again.',
      detail: error.message, next: 'retry',
    };
  }
  if (error instanceof SourceChangedError) {
    return { message: 'The file changed since the upload began, so it must be uploaded again from the start.', detail: error.message, next: 'restart' };
  }
  if (error instanceof VerificationError) {
    return { message: 'What the server stored does not match what was sent (SHA-1 check failed). Upload it again.', detail: error.message, next: 'restart' };
  }
  return { message: `Something went wrong: ${(error as Error)?.message ?? String(error)}`, detail: undefined, next: subject === 'upload' ? 'retry' : 'none' };
}

function boxMessage(error: BoxApiError, subject: Subject): [string, Explained['next']] {
  switch (error.code) {
    case 'item_name_in_use':
      return [subject === 'folder' ? 'A file or folder with this name already exists here.' : 'A file with this name already exists in this folder.', 'none'];
    case 'storage_limit_exceeded':
      return ['Not enough storage: this account\'s quota is used up. Delete some files (or ask the administrator for more space), then retry.', 'retry'];
    case 'file_size_limit_exceeded':
      return ['This file is larger than the server accepts.', 'none'];
    case 'insufficient_storage':
      return ['The server\'s disk is full. Tell the administrator; the upload can continue later from where it stopped.', 'retry'];
    case 'session_expired':
      return ['The upload session expired (sessions last 7 days). Retry to upload the file again.', 'retry'];
    case 'unauthorized':
      return ['The server refused the token: it may have been revoked or mistyped. Sign in again.', 'none'];
    case 'access_denied_insufficient_permissions':
      return ['You are not allowed to do this here.', 'none'];
    case 'not_found':
      return [subject === 'upload' ? 'The destination (folder, file or upload session) no longer exists.'
        : subject === 'browse' ? 'This folder does not exist, or it is not yours.' : 'It no longer exists; it may have been deleted.', 'none'];
    case 'item_name_invalid':
    case 'bad_request':
      if (error.code === 'item_name_invalid' || /name/i.test(error.serverMessage)) {
        return ['This name cannot be used: no "/" or "\\", no spaces at either end, and not "." or "..".', 'none'];
      }
      return ['The server rejected the request as malformed.', 'none'];
    case 'item_name_too_long':
      return ['The name is too long (255 characters at most).', 'none'];
    case 'digest_mismatch':
      return ['The data arrived damaged, or the file changed while it was read (SHA-1 mismatch). Retry.', 'retry'];
    case 'parts_mismatch':
      return ['The server\'s list of parts did not match the upload\'s. Retry.', 'retry'];
    case 'range_overlaps_existing_part':
      return ['The server holds different bytes for part of this file: it changed since the upload began.', 'restart'];
    case 'requested_range_not_satisfiable':
      return ['The server rejected a part of the upload (its range did not fit the session).', 'restart'];
    case 'precondition_failed':
      return ['The file was changed by someone else in the meantime. Retry to upload over the newest version.', 'retry'];
    case 'request_entity_too_large':
      return ['The request was too large for the server.', 'none'];
    case 'rate_limit_exceeded':
      return ['The server is busy (too many requests). Retry in a moment.', 'retry'];
    case 'invalid_upload_session_id':
      return ['The saved upload session is not valid. Upload the file again.', 'restart'];
    default:
      if (error.status >= 500) return [`The server had a problem (${error.status}). Retry later: the upload continues where it stopped.`, 'retry'];
      return [error.serverMessage || `The server answered ${error.status}.`, subject === 'upload' ? 'retry' : 'none'];
  }
}
