// A picture as a button: the variations grid and the history both show their images this way.

// `image` = {base64}; `label` names the button for screen readers, `alt` describes the picture.
export function imageTile({ base64, label, alt, onClick, option = false }) {
  const button = document.createElement("button");
  button.type = "button";
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
