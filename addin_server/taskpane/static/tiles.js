// @ts-check
// A picture as a button: the variations grid and the history both show their images this way.

/**
 * A tile for `base64` (raw PNG); `label` names the button for screen readers, `alt` describes the picture.
 * As an `option` of the variations listbox it is selectable (aria-selected) and reached with the arrow keys.
 * @param {{ base64: string, label: string, alt: string, onClick: () => void, option?: boolean }} tile
 */
export function imageTile({ base64, label, alt, onClick, option = false }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tile";
  if (option) {
    button.setAttribute("role", "option");
    button.setAttribute("aria-selected", "false");
  }
  button.setAttribute("aria-label", label);
  const img = document.createElement("img");
  img.src = `data:image/png;base64,${base64}`;
  img.alt = alt;
  button.append(img);
  button.addEventListener("click", onClick);
  return button;
}

// Arrow keys, Home and End move between a listbox's options (choosing the one they land on); Tab leaves it.
/** @param {HTMLElement} listbox @param {(index: number) => void} choose */
export function arrowKeysChoose(listbox, choose) {
  listbox.addEventListener("keydown", (event) => {
    const options = Array.from(listbox.querySelectorAll("[role=option]"));
    const at = options.indexOf(/** @type {Element} */ (document.activeElement));
    if (at < 0) return;
    const next = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: options.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const index = Math.max(0, Math.min(options.length - 1, next));
    choose(index);
    /** @type {HTMLElement} */ (options[index]).focus();
  });
}

// Only the chosen option is in the tab order (a listbox is one stop); the others are reached with arrows.
/** @param {HTMLElement} listbox @param {number} chosen */
export function markChosen(listbox, chosen) {
  listbox.querySelectorAll("[role=option]").forEach((option, i) => {
    option.setAttribute("aria-selected", String(i === chosen));
    option.setAttribute("tabindex", i === chosen ? "0" : "-1");
  });
}
