import type { UploadSession } from './api.js';

/**
 * Upload sessions in progress, kept in IndexedDB so that an upload survives a reload or a closed tab:
 * choosing the same file again (same name, size and modification time, same destination) continues
 * the session, sending only the parts the server does not list.
 */

/** What identifies one upload: the server, the user, the destination, and this version of the file. */
export interface UploadIdentity {
  origin: string;
  userId: string;
  folderId: string;
  /** Set when uploading a new version of an existing file. */
  newVersionOf: string | undefined;
  /** The name to upload under (the local name, unless the user chose another to keep both). */
  name: string;
  /** The local file: its name, size and modification time stand for its content. */
  fileName: string;
  size: number;
  lastModified: number;
}

export interface SavedUpload extends UploadIdentity {
  key: string;
  /** For display only: where the upload goes. */
  folderName: string;
  session: {
    id: string;
    endpoints: UploadSession['session_endpoints'];
    partSize: number;
    totalParts: number;
    expiresAt: string;
  };
  /** Parts the server held when last seen (for display; the server's list is the truth). */
  partsStored: number;
  createdAt: number;
  updatedAt: number;
}

export function uploadKey(identity: UploadIdentity): string {
  return JSON.stringify([identity.origin, identity.userId, identity.folderId, identity.newVersionOf ?? '',
    identity.name, identity.fileName, identity.size, identity.lastModified]);
}

/** True when a picked file is the one a saved upload was reading. */
export function sameFile(saved: Pick<UploadIdentity, 'fileName' | 'size' | 'lastModified'>, file: File): boolean {
  return saved.fileName === file.name && saved.size === file.size && saved.lastModified === file.lastModified;
}

export interface StateStore {
  get(key: string): Promise<SavedUpload | undefined>;
  put(record: SavedUpload): Promise<void>;
  delete(key: string): Promise<void>;
  all(): Promise<SavedUpload[]>;
}

const DB_NAME = 'partway-uploader';
const STORE = 'uploads';

export class IndexedDbStateStore implements StateStore {
  readonly #db: Promise<IDBDatabase>;

  constructor() {
    this.#db = new Promise((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => {
        if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE, { keyPath: 'key' });
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error ?? new Error('IndexedDB could not be opened'));
      open.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
    });
  }

  get(key: string): Promise<SavedUpload | undefined> {
    return this.#request('readonly', (store) => store.get(key));
  }

  async put(record: SavedUpload): Promise<void> {
    await this.#request('readwrite', (store) => store.put(record));
  }

  async delete(key: string): Promise<void> {
    await this.#request('readwrite', (store) => store.delete(key));
  }

  all(): Promise<SavedUpload[]> {
    return this.#request('readonly', (store) => store.getAll());
  }

  async #request<T>(mode: IDBTransactionMode, operation: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.#db;
    return new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = operation(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = () => reject(transaction.error ?? request.error ?? new Error('IndexedDB request failed'));
      transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    });
  }
}

/** For browsers where IndexedDB is unavailable (some private modes): uploads then resume only within the page. */
export class MemoryStateStore implements StateStore {
  readonly #records = new Map<string, SavedUpload>();

  async get(key: string) {
    return this.#records.get(key);
  }

  async put(record: SavedUpload) {
    this.#records.set(record.key, structuredClone(record));
  }

  async delete(key: string) {
    this.#records.delete(key);
  }

  async all() {
    return [...this.#records.values()];
  }
}

export async function openStateStore(): Promise<StateStore> {
  try {
    const store = new IndexedDbStateStore();
    await store.all();
    return store;
  } catch {
    return new MemoryStateStore();
  }
}
