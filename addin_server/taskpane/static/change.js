// "Change the selected picture": reads the picture selected in the slide or document, shows it, and turns the
// next generation into an edit of it (with a strength); afterwards Replace puts the chosen variation in its
// place. Only office_host.js talks to Office.
import { selectedPicture } from "./office_host.js";

const $ = (id) => document.getElementById(id);

export class PictureChange {
  constructor(show) {
    this.show = show;  // (message, isError) => void
    this.original = null;
  }

  get active() { return this.original !== null; }

  async start() {
    let picture;
    try {
      picture = await selectedPicture();
    } catch (error) {
      return this.show(`Office could not read the selected picture: ${error.message}`, true);
    }
    if (!picture) return this.show("Select a picture in the document first, then choose Change the selected picture.", true);
    this.original = picture;
    $("changing-picture").src = `data:image/png;base64,${picture.base64}`;
    $("changing").hidden = false;
    if (picture.altText && !$("prompt").value.trim()) $("prompt").value = picture.altText;
    $("generate").textContent = "Change";
    this.show("");
    $("prompt").focus();
  }

  stop() {
    this.original = null;
    $("changing").hidden = true;
    $("changing-picture").removeAttribute("src");
    $("generate").textContent = "Generate";
    $("replace").hidden = true;
  }

  // The job's picture fields while a picture is being changed.
  fields() {
    return this.active ? { image: this.original.base64, strength: Number($("strength").value) } : {};
  }
}
