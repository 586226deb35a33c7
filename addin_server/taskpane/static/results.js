// The variations of the last job: choose one, insert it where the person is working.
import { imageTile } from "./tiles.js";

const $ = (id) => document.getElementById(id);

export class Results {
  constructor(api, insert) {
    this.api = api;
    this.insert = insert;  // async (image, altText, asBackground) => message shown on success
    this.images = [];
    this.selected = null;
    this.altText = "";
  }

  async show(job, describedAs) {
    this.altText = describedAs || job.request.prompt;
    this.images = await Promise.all(job.images.map(async (image) => ({ ...image, base64: await this.api.imageBase64(image.url) })));
    $("grid").replaceChildren(...this.images.map((image, index) => imageTile({
      base64: image.base64,
      label: `Variation ${index + 1}, seed ${image.seed}`,
      alt: `${this.altText} (variation ${index + 1})`,
      onClick: () => this.select(index),
      option: true,
    })));
    this.showIgnoredWords(job.ignored_words || [], describedAs);
    $("results").hidden = false;
    this.select(0);
    $("grid").querySelector("button").focus();
  }

  // The person's own words the model left out (not the style preset's), so they know why the picture differs.
  showIgnoredWords(ignored, describedAs) {
    const own = new Set((describedAs || "").toLowerCase().match(/[a-z]+/g) || []);
    const unknown = ignored.filter((word) => own.has(word));
    $("ignored").textContent = unknown.length ? `This model does not know: ${unknown.join(", ")}` : "";
    $("ignored").hidden = !unknown.length;
  }

  select(index) {
    this.selected = index;
    $("grid").querySelectorAll("button").forEach((button, i) => button.setAttribute("aria-selected", String(i === index)));
    $("insert").disabled = false;
  }

  selectedImage() {
    return this.images[this.selected] || null;
  }

  async insertSelected() {
    const image = this.images[this.selected];
    if (!image) return;
    const asBackground = document.querySelector("input[name=placement]:checked").value === "background";
    await this.insert(image, this.altText, asBackground);
  }
}
