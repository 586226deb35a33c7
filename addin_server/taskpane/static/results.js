// @ts-check
// The variations of the last job: choose one, insert it where the person is working.
import { byId } from "./dom.js";
import { setEnabled } from "./form.js";
import { t } from "./strings.js";
import { arrowKeysChoose, imageTile, markChosen } from "./tiles.js";

/** @typedef {import("./form.js").Job} Job */
/** @typedef {import("./api.js").Api} Api */
/** A variation with its bytes. @typedef {{ id: string, url: string, seed: number, base64: string, width: number, height: number }} Variation */
/** @typedef {(image: Variation, altText: string, asBackground: boolean) => Promise<void>} Insert */

export class Results {
  /** @param {Api} api @param {Insert} insert */
  constructor(api, insert) {
    this.api = api;
    this.insert = insert;
    /** @type {Variation[]} */
    this.images = [];
    /** @type {number | null} */
    this.selected = null;
    this.altText = "";
    arrowKeysChoose(byId("grid"), (index) => this.select(index));
  }

  /** @param {Job} job @param {string} describedAs */
  async show(job, describedAs) {
    this.altText = describedAs || job.request.prompt;
    this.images = await Promise.all(job.images.map((image) => this.withPixels(image)));
    byId("grid").replaceChildren(...this.images.map((image, index) => imageTile({
      base64: image.base64,
      label: t("variationLabel", { index: index + 1, seed: image.seed }),
      alt: t("variationAlt", { prompt: this.altText, index: index + 1 }),
      onClick: () => this.select(index),
      option: true,
    })));
    this.showIgnoredWords(job.ignored_words || [], describedAs);
    byId("pending").hidden = true;
    byId("results").hidden = false;
    this.select(0);
    /** @type {HTMLElement} */ (byId("grid").querySelector("[role=option]")).focus();
  }

  /** @param {{ id: string, url: string, seed: number, width: number, height: number }} image @returns {Promise<Variation>} */
  async withPixels(image) {
    return { ...image, base64: await this.api.imageBase64(image.url) };
  }

  // The person's own words the model left out (not the style preset's), so they know why the picture differs.
  /** @param {string[]} ignored @param {string} describedAs */
  showIgnoredWords(ignored, describedAs) {
    const own = new Set((describedAs || "").toLowerCase().match(/[a-z]+/g) || []);
    const unknown = ignored.filter((word) => own.has(word));
    byId("ignored").textContent = unknown.length ? t("unknownWords", { words: unknown.join(", ") }) : "";
    byId("ignored").hidden = !unknown.length;
  }

  /** @param {number} index */
  select(index) {
    this.selected = index;
    markChosen(byId("grid"), index);
    setEnabled(byId("insert"), true);
  }

  selectedImage() {
    return this.selected === null ? null : this.images[this.selected] || null;
  }

  async insertSelected() {
    const image = this.selectedImage();
    if (!image) return;
    const placement = /** @type {HTMLInputElement | null} */ (document.querySelector("input[name=placement]:checked"));
    await this.insert(image, this.altText, placement?.value === "background");
  }
}
