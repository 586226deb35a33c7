// @ts-check
// "Change the selected picture": reads the picture selected in the slide or document, shows it, and turns the
// next generation into an edit of it (with a strength); afterwards Replace puts the chosen variation in its
// place. Only office_host.js talks to Office.
import { byId, imageById, inputById, messageOf, textAreaById } from "./dom.js";
import { selectedPicture } from "./office_host.js";
import { t } from "./strings.js";

/** @typedef {import("./office_host.js").SelectedPicture} SelectedPicture */

export class PictureChange {
  /** @param {(message: string, isError?: boolean) => void} show */
  constructor(show) {
    this.show = show;
    /** @type {SelectedPicture | null} */
    this.original = null;
  }

  get active() { return this.original !== null; }

  async start() {
    let picture;
    try {
      picture = await selectedPicture();
    } catch (error) {
      return this.show(t("readSelectedFailed", { reason: messageOf(error) }), true);
    }
    if (!picture) return this.show(t("selectFirst"), true);
    this.original = picture;
    imageById("changing-picture").src = `data:image/png;base64,${picture.base64}`;
    byId("changing").hidden = false;
    const prompt = textAreaById("prompt");
    if (picture.altText && !prompt.value.trim()) prompt.value = picture.altText;
    byId("generate").textContent = t("change");
    this.show("");
    prompt.focus();
  }

  stop() {
    this.original = null;
    byId("changing").hidden = true;
    imageById("changing-picture").removeAttribute("src");
    byId("generate").textContent = t("generate");
    byId("replace").hidden = true;
  }

  // The job's picture fields while a picture is being changed.
  fields() {
    return this.original ? { image: this.original.base64, strength: Number(inputById("strength").value) } : {};
  }
}
