// Recent images: the person's last pictures, to insert again.
import { ApiError } from "./api.js";
import { imageTile } from "./tiles.js";

const SHOWN = 12;

export class History {
  constructor(api, insert, explain) {
    this.api = api;
    this.insert = insert;    // async (image, altText, asBackground) => void
    this.explain = explain;  // (error) => void
  }

  async refresh() {
    try {
      const page = await this.api.history();
      const tiles = [];
      for (const job of page.data.filter((j) => j.status === "succeeded")) {
        for (const image of job.images) {
          const base64 = await this.api.imageBase64(image.url);
          tiles.push(imageTile({
            base64,
            label: `Insert again: ${job.request.prompt}`,
            alt: job.request.prompt,
            onClick: () => this.insert({ ...image, base64 }, job.request.prompt, false),
          }));
        }
      }
      document.getElementById("history").replaceChildren(...tiles.slice(0, SHOWN));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) this.explain(error);
    }
  }
}
