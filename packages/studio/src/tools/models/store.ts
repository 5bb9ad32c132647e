// The Models tool's file store: .onnx files kept in the browser (IndexedDB) so they survive a
// reload. ModelStore holds the logic; a backend (IndexedDB in the page, memory in tests) the bytes.

export type StoredModel = { id: string; name: string; bytes: Uint8Array; addedAt: number };
export type ModelMeta = { id: string; name: string; size: number; addedAt: number };

/** Where the bytes live: one record per id. */
export interface ModelBackend {
  all(): Promise<StoredModel[]>;
  get(id: string): Promise<StoredModel | undefined>;
  put(model: StoredModel): Promise<void>;
  delete(id: string): Promise<void>;
}

export class ModelStore {
  constructor(
    private readonly backend: ModelBackend,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every stored file, newest first, without its bytes. */
  async list(): Promise<ModelMeta[]> {
    const all = await this.backend.all();
    return all
      .map(({ id, name, bytes, addedAt }) => ({ id, name, size: bytes.length, addedAt }))
      .sort((a, b) => b.addedAt - a.addedAt || a.name.localeCompare(b.name));
  }

  open(id: string): Promise<StoredModel | undefined> {
    return this.backend.get(id);
  }

  /** Keeps `bytes` under `name`; a file of the same name is replaced. Returns its id. */
  async save(name: string, bytes: Uint8Array): Promise<string> {
    const trimmed = name.trim();
    if (trimmed === '') throw new Error('a model file needs a name');
    if (bytes.length === 0) throw new Error(`"${trimmed}" is empty`);
    const id = trimmed;
    await this.backend.put({ id, name: trimmed, bytes: bytes.slice(), addedAt: this.now() });
    return id;
  }

  remove(id: string): Promise<void> {
    return this.backend.delete(id);
  }
}

export function memoryBackend(): ModelBackend {
  const records = new Map<string, StoredModel>();
  return {
    all: async () => [...records.values()],
    get: async (id) => records.get(id),
    put: async (m) => {
      records.set(m.id, m);
    },
    delete: async (id) => {
      records.delete(id);
    },
  };
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** IndexedDB database `dbName`, object store `storeName` keyed by id. */
export function indexedDbBackend(dbName = 'aivm-studio', storeName = 'onnx-models'): ModelBackend {
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(storeName))
          req.result.createObjectStore(storeName, { keyPath: 'id' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB is not available'));
    });
    return db;
  };
  const store = async (mode: IDBTransactionMode) =>
    (await open()).transaction(storeName, mode).objectStore(storeName);
  return {
    all: async () => (await request((await store('readonly')).getAll())) as StoredModel[],
    get: async (id) => (await request((await store('readonly')).get(id))) as StoredModel | undefined,
    put: async (m) => {
      await request((await store('readwrite')).put(m));
    },
    delete: async (id) => {
      await request((await store('readwrite')).delete(id));
    },
  };
}
