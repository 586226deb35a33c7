// @ts-check
// The Teams dialog of the `generate` command: the task pane's form, signed in with Teams SSO. Generate, watch
// the progress, choose a variation, and Post hands its id to Teams (dialog.url.submit), which sends the
// bot a composeExtension/submitAction that answers with the picture's card.
import { Api } from "../../taskpane/static/api.js";
import { byId, messageOf, selectById, textAreaById } from "../../taskpane/static/dom.js";
import { RequestForm, setEnabled } from "../../taskpane/static/form.js";
import { explain, show } from "../../taskpane/static/messages.js";
import { applyTexts, t, useLanguage } from "../../taskpane/static/strings.js";
import { useTheme } from "../../taskpane/static/theme.js";
import { arrowKeysChoose, imageTile, markChosen } from "../../taskpane/static/tiles.js";

/** @typedef {import("../../taskpane/static/form.js").Job} Job */

const settings = JSON.parse(byId("settings").textContent || "{}");

/** The prompt the dialog starts from: a message's text rides in the URL's fragment, which is never sent to a
 * server (so no access log or proxy sees it). */
function startingPrompt() {
  const prompt = new URLSearchParams(window.location.hash.slice(1)).get("prompt") || "";
  const limit = textAreaById("prompt").maxLength;
  return limit > 0 ? prompt.slice(0, limit) : prompt;
}
const teams = window.microsoftTeams;

class Dialog {
  constructor() {
    // getAuthToken gives a token for the app's webApplicationInfo.resource (this API), cached by Teams.
    this.api = new Api(() => teams.authentication.getAuthToken().catch((error) => {
      throw Object.assign(new Error(t("teamsSignInFailed", { reason: messageOf(error) })), { teams: true });
    }));
    this.form = new RequestForm(settings);
    /** @type {{ id: string, base64: string, seed: number }[]} */
    this.images = [];
    /** @type {number | null} */
    this.selected = null;
    /** @type {AbortController | null} */
    this.stop = null;
    /** @type {Job | null} */
    this.job = null;
  }

  async start() {
    await teams.app.initialize();
    const context = await teams.app.getContext();
    useLanguage(context.app.locale);
    applyTexts();
    await useTheme(context.app.theme === "dark" || context.app.theme === "contrast");
    teams.app.registerOnThemeChangeHandler((theme) => useTheme(theme === "dark" || theme === "contrast"));
    this.form.fillChoices();
    selectById("shape").value = "square";
    textAreaById("prompt").value = startingPrompt();
    byId("generate-form").addEventListener("submit", (event) => { event.preventDefault(); this.generate(); });
    byId("cancel").addEventListener("click", () => this.cancel());
    byId("post").addEventListener("click", () => this.post());
    byId("sign-in").addEventListener("click", () => { byId("sign-in").hidden = true; this.generate(); });
    arrowKeysChoose(byId("grid"), (index) => this.select(index));
    byId("app").setAttribute("aria-busy", "false");
    if (settings.job) await this.follow(() => this.api.request("GET", `/api/jobs/${encodeURIComponent(settings.job)}`));
    else byId("prompt").focus();
  }

  generate() {
    const { fields } = this.form.read();
    if (!fields.prompt) return show(t("describeFirst"), true);
    this.form.showPending(Number(fields.n) || 1);
    return this.follow(() => this.api.createJob(fields));
  }

  // Run one job from `begin` to its end, showing its progress, then its variations.
  /** @param {() => Promise<Job>} begin */
  async follow(begin) {
    show("");
    byId("results").hidden = true;
    this.form.setBusy(true);
    const controller = new AbortController();
    this.stop = controller;
    try {
      this.job = await begin();
      this.form.showProgress(this.job);
      const job = await this.api.followJob(this.job, (_, update) => this.form.showProgress(update), controller.signal);
      if (job.status === "succeeded") await this.showVariations(job);
      else if (job.status === "cancelled") show(t("cancelled"));
      else show(t("noPicture", { reason: job.error?.message || job.status }), true);
    } catch (error) {
      if (error instanceof Error && error.name === "AbortError") show(t("cancelled"));
      else if (error instanceof Error && "teams" in error) { show(error.message, true); byId("sign-in").hidden = false; }
      else explain(error, "entra");
    } finally {
      this.form.setBusy(false);
      this.form.showPending(0);
      this.stop = null;
    }
  }

  async cancel() {
    if (this.job) await this.api.cancelJob(this.job.id).catch(() => null);
    if (this.stop) this.stop.abort();
  }

  /** @param {Job} job */
  async showVariations(job) {
    this.images = await Promise.all(job.images.map(async (image) => ({ ...image, base64: await this.api.imageBase64(image.url) })));
    byId("grid").replaceChildren(...this.images.map((image, index) => imageTile({
      base64: image.base64,
      label: t("variationLabel", { index: index + 1, seed: image.seed }),
      alt: t("variationAlt", { prompt: job.request.prompt, index: index + 1 }),
      onClick: () => this.select(index),
      option: true,
    })));
    byId("results").hidden = false;
    this.select(0);
  }

  /** @param {number} index */
  select(index) {
    this.selected = index;
    markChosen(byId("grid"), index);
    setEnabled(byId("post"), true);
  }

  post() {
    const image = this.selected === null ? null : this.images[this.selected];
    if (image) teams.dialog.url.submit({ image_id: image.id });
  }
}

new Dialog().start().catch((error) => show(t("teamsOnly", { reason: messageOf(error) }), true));
