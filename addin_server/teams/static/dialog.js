// The Teams dialog of the `generate` command: the task pane's form, signed in with Teams SSO. Generate, watch
// the progress, choose a variation, and Post hands its id to Teams (dialog.url.submit), which sends the
// bot a composeExtension/submitAction that answers with the picture's card.
import { Api } from "/taskpane/static/api.js";
import { RequestForm } from "/taskpane/static/form.js";
import { explain, show } from "/taskpane/static/messages.js";
import { imageTile } from "/taskpane/static/tiles.js";

const $ = (id) => document.getElementById(id);
const settings = JSON.parse($("settings").textContent);
const teams = window.microsoftTeams;

class Dialog {
  constructor() {
    // getAuthToken gives a token for the app's webApplicationInfo.resource (this API), cached by Teams.
    this.api = new Api(() => teams.authentication.getAuthToken().catch((error) => {
      throw Object.assign(new Error(`Teams could not sign you in (${error.message || error}).`), { teams: true });
    }));
    this.form = new RequestForm(settings);
    this.images = [];
    this.selected = null;
    this.stop = null;
  }

  async start() {
    await teams.app.initialize();
    this.form.fillChoices();
    $("shape").value = "square";
    $("prompt").value = settings.prompt;
    $("generate-form").addEventListener("submit", (event) => { event.preventDefault(); this.generate(); });
    $("cancel").addEventListener("click", () => this.cancel());
    $("post").addEventListener("click", () => this.post());
    $("sign-in").addEventListener("click", () => { $("sign-in").hidden = true; this.generate(); });
    $("app").setAttribute("aria-busy", "false");
    if (settings.job) await this.follow(() => this.api.request("GET", `/api/jobs/${encodeURIComponent(settings.job)}`));
    else $("prompt").focus();
  }

  generate() {
    const { fields } = this.form.read();
    if (!fields.prompt) return show("Describe the picture first.", true);
    return this.follow(() => this.api.createJob(fields));
  }

  // Run one job from `begin` to its end, showing its progress, then its variations.
  async follow(begin) {
    show("");
    $("results").hidden = true;
    this.form.setBusy(true);
    const controller = new AbortController();
    this.stop = controller;
    try {
      this.job = await begin();
      this.form.showProgress(this.job);
      const job = await this.api.followJob(this.job, (_, update) => this.form.showProgress(update), controller.signal);
      if (job.status === "succeeded") await this.showVariations(job);
      else show(job.status === "cancelled" ? "Cancelled." : `No picture this time: ${job.error?.message || job.status}.`, job.status !== "cancelled");
    } catch (error) {
      if (error.name === "AbortError") show("Cancelled.");
      else if (error.teams) { show(error.message, true); $("sign-in").hidden = false; }
      else explain(error, "entra");
    } finally {
      this.form.setBusy(false);
      this.stop = null;
    }
  }

  async cancel() {
    if (this.job) await this.api.cancelJob(this.job.id).catch(() => null);
    if (this.stop) this.stop.abort();
  }

  async showVariations(job) {
    this.images = await Promise.all(job.images.map(async (image) => ({ ...image, base64: await this.api.imageBase64(image.url) })));
    $("grid").replaceChildren(...this.images.map((image, index) => imageTile({
      base64: image.base64,
      label: `Variation ${index + 1}, seed ${image.seed}`,
      alt: `${job.request.prompt} (variation ${index + 1})`,
      onClick: () => this.select(index),
      option: true,
    })));
    $("results").hidden = false;
    this.select(0);
  }

  select(index) {
    this.selected = index;
    $("grid").querySelectorAll("button").forEach((button, i) => button.setAttribute("aria-selected", String(i === index)));
    $("post").disabled = false;
  }

  post() {
    const image = this.images[this.selected];
    if (image) teams.dialog.url.submit({ image_id: image.id });
  }
}

new Dialog().start().catch((error) => show(`This dialog works inside Teams only (${error.message || error}).`, true));
