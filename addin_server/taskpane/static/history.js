// @ts-check
// Recent images: the person's last pictures, to insert again.
import { ApiError } from "./api.js";
import { byId } from "./dom.js";
import { t } from "./strings.js";
import { imageTile } from "./tiles.js";

const SHOWN = 12;

export class History {
  /**
   * @param {import("./api.js").Api} api
   * @param {import("./results.js").Insert} insert
   * @param {(error: unknown) => void} explain
   */
  constructor(api, insert, explain) {
    this.api = api;
    this.insert = insert;
    this.explain = explain;
  }

  async refresh() {
    try {
      const page = await this.api.history();
      const tiles = [];
      for (const job of page.data.filter((/** @type {import("./form.js").Job} */ j) => j.status === "succeeded")) {
        for (const image of job.images) {
          const base64 = await this.api.imageBase64(image.url);
          tiles.push(imageTile({
            base64,
            label: t("insertAgain", { prompt: job.request.prompt }),
            alt: job.request.prompt,
            onClick: () => this.insert({ ...image, base64 }, job.request.prompt, false),
          }));
        }
      }
      byId("history").replaceChildren(...tiles.slice(0, SHOWN));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) this.explain(error);
    }
  }
}
