// @ts-check
// The pane's elements by id, typed: a missing element is a bug in the page, so it throws at once.

/**
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return /** @type {T} */ (element);
}

/** @param {string} id @returns {HTMLInputElement} */
export const inputById = (id) => byId(id);

/** @param {string} id @returns {HTMLSelectElement} */
export const selectById = (id) => byId(id);

/** @param {string} id @returns {HTMLTextAreaElement} */
export const textAreaById = (id) => byId(id);

/** @param {string} id @returns {HTMLButtonElement} */
export const buttonById = (id) => byId(id);

/** @param {string} id @returns {HTMLImageElement} */
export const imageById = (id) => byId(id);

/** @param {string} id @returns {HTMLProgressElement} */
export const progressById = (id) => byId(id);

/** The message of anything thrown. @param {unknown} error */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
