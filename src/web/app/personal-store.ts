/**
 * The personal model that "My voice" made, kept in this browser (IndexedDB, through idb-keyval) so a
 * reload does not forget it. One model per browser profile; a kiosk (`?kiosk=1`) never reads or writes it.
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';

export interface PersonalModel {
  /** The ONNX file. */
  bytes: Uint8Array;
  /** The shared model it was refitted from (a file name under ./models). */
  base: string;
  /** When it was made (ms since the epoch). */
  madeAt: number;
}

const KEY = 'personal-model.v1';
let store: UseStore | undefined;

/** Opened on first use: a browser without IndexedDB (some private modes) fails here, not at load. */
function db(): UseStore {
  store ??= createStore('spoken-digits', 'personal');
  return store;
}

/** The stored model, or undefined when there is none, storage is unavailable, or what is stored is not one. */
export async function loadPersonalModel(): Promise<PersonalModel | undefined> {
  try {
    const v = (await get(KEY, db())) as Partial<PersonalModel> | undefined;
    // Stored values are untrusted (another version of the page, a profile copied around).
    if (v && v.bytes instanceof Uint8Array && v.bytes.length > 0 && typeof v.base === 'string' && typeof v.madeAt === 'number') {
      return { bytes: v.bytes, base: v.base, madeAt: v.madeAt };
    }
  } catch (err) {
    console.warn('personal model store unavailable', err);
  }
  return undefined;
}

/** Keeps `model`; the reason when the browser would not (private mode, quota), else undefined. */
export async function savePersonalModel(model: PersonalModel): Promise<string | undefined> {
  try {
    await set(KEY, model, db());
    return undefined;
  } catch (err) {
    return (err as Error)?.message ?? String(err);
  }
}

export async function deletePersonalModel(): Promise<void> {
  try {
    await del(KEY, db());
  } catch (err) {
    console.warn('personal model store unavailable', err);
  }
}
