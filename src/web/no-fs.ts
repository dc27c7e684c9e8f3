// The browser builds (the kiosk, and the library's spoken-digits/web) map node:fs and node:fs/promises here. Shared modules (WAV decoder, model
// metadata reader) offer file helpers next to their byte-level functions; the page only ever calls
// the byte-level ones, so these exist for the bundler and fail loudly if anything reaches them.
function unavailable(): never {
  throw new Error('spoken-digits: file system access does not exist in the browser; pass bytes instead');
}
export const readFile = unavailable;
export const openSync = unavailable;
export const readSync = unavailable;
export const fstatSync = unavailable;
export const closeSync = unavailable;
export const read = unavailable;
export const open = unavailable;
export const constants = { O_RDONLY: 0, O_NONBLOCK: 0 };
export default { readFile, openSync, readSync, fstatSync, closeSync, read, open, constants };
