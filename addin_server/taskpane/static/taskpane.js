// @ts-check
// The task pane: prompt → job → live progress → variations → insert into the slide or document.
// The form (form.js), the variations (results.js) and the recent images (history.js) each keep their own state;
// this module starts them and runs one generation at a time.
import { Api } from "./api.js";
import { byId, messageOf } from "./dom.js";
import { RequestForm } from "./form.js";
import { History } from "./history.js";
import { explain as explainWith, show } from "./messages.js";
import { PictureChange } from "./change.js";
import {
  displayLanguage, features, hostName, insertImage, officeTheme, onThemeChange, placeByPicture, targetSize, whenOfficeReady,
} from "./office_host.js";
import { Results } from "./results.js";
import { SignIn } from "./sign_in.js";
import { applyTexts, t, useLanguage } from "./strings.js";
import { isDarkOfficeTheme, useTheme } from "./theme.js";

/** @typedef {import("./form.js").FormRequest} FormRequest */
/** @typedef {import("./office_host.js").SelectedPicture} SelectedPicture */
/** @typedef {import("./results.js").Variation} Variation */

const settings = JSON.parse(byId("settings").textContent || "{}");

const signIn = new SignIn(settings);
const api = new Api(() => signIn.token());
/** @param {unknown} error */
const explain = (error) => explainWith(error, settings.signIn);
const form = new RequestForm(settings);

const change = new PictureChange(show);
/** @type {SelectedPicture | null} the picture the shown variations were made from (Insert then goes beside it) */
let changedFrom = null;

/** @param {Variation} image @param {string} altText @param {boolean} asBackground */
async function insertAndTell(image, altText, asBackground) {
  try {
    if (changedFrom) await placeByPicture(image, changedFrom, { altText, replace: false });
    else await insertImage(image, { altText, asBackground });
    show(asBackground ? t("setAsBackground") : changedFrom ? t("insertedBeside") : t("inserted"));
  } catch (error) {
    explain(error);
  }
}

async function replaceOriginal() {
  const image = results.selectedImage();
  if (!image || !changedFrom) return;
  try {
    await placeByPicture(image, changedFrom, { altText: results.altText, replace: true });
    show(t("replaced"));
  } catch (error) {
    explain(error);
  }
}

const results = new Results(api, insertAndTell);
const history = new History(api, insertAndTell, explain);

// -- one generation at a time ---------------------------------------------------------------------------------
/** @type {{ job: import("./form.js").Job, abort: AbortController } | null} the job being followed */
let running = null;
/** @type {FormRequest | null} for "More like this" */
let lastRequest = null;

/** @param {FormRequest} request @param {SelectedPicture | null} [from] */
async function generate({ fields, describedAs }, from = change.active ? change.original : null) {
  show("");
  lastRequest = { fields, describedAs };
  if (from && fields.image_id === undefined && change.active) {
    const { size, ...rest } = fields;  // an edit keeps the picture's own shape
    fields = { ...rest, ...change.fields() };
  }
  form.setBusy(true);
  form.showPending(Number(fields.n) || 1);
  try {
    const job = await api.createJob(fields);
    const abort = new AbortController();
    running = { job, abort };
    const final = await api.followJob(job, (_, update) => form.showProgress(update), abort.signal);
    if (final.status === "succeeded") {
      changedFrom = from;
      await results.show(final, describedAs);
      byId("replace").hidden = !changedFrom;
    }
    else if (final.status === "cancelled") show(t("cancelled"));
    else show(final.error ? final.error.message : t("failed"), true);
  } catch (error) {
    if (!(error instanceof Error && error.name === "AbortError")) explain(error);
  } finally {
    running = null;
    form.setBusy(false);
    form.showPending(0);
    history.refresh();
  }
}

async function cancel() {
  if (!running) return;
  try { await api.cancelJob(running.job.id); } catch (error) { explain(error); }
}

// Variations of the chosen picture: the same prompt, redrawn from that picture with new seeds.
function moreLikeThis() {
  const image = results.selectedImage();
  if (!image || !lastRequest) return;
  const { seed, image: _, strength, size, ...fields } = lastRequest.fields;
  generate({ fields: { ...fields, image_id: image.id, strength: 0.5 }, describedAs: lastRequest.describedAs }, changedFrom);
}

async function signInInteractively() {
  try {
    await signIn.interactive();
    show(t("signedIn"));
    byId("sign-in").hidden = true;
  } catch (error) {
    show(t("signInFailed", { reason: messageOf(error) }), true);
  }
}

// -- start ------------------------------------------------------------------------------------------------------
async function start() {
  useLanguage(displayLanguage());
  applyTexts();
  await useTheme(isDarkOfficeTheme(officeTheme()));
  onThemeChange((theme) => useTheme(isDarkOfficeTheme(theme)));
  form.fillChoices();
  form.startFrom(await targetSize(), hostName());
  byId("background-option").hidden = !features().background;
  byId("placement").hidden = hostName() === "Word";
  byId("generate-form").hidden = false;
  byId("generate-form").addEventListener("submit", (event) => { event.preventDefault(); generate(form.read()); });
  byId("cancel").addEventListener("click", cancel);
  byId("insert").addEventListener("click", () => results.insertSelected());
  byId("more").addEventListener("click", moreLikeThis);
  byId("replace").addEventListener("click", replaceOriginal);
  byId("change-selected").hidden = !features().changePicture;
  byId("change-selected").addEventListener("click", () => change.start());
  byId("stop-changing").addEventListener("click", () => change.stop());
  byId("sign-in").addEventListener("click", signInInteractively);
  byId("app").setAttribute("aria-busy", "false");
  byId("prompt").focus();
  history.refresh();
}

async function outsideOffice() {
  useLanguage(navigator.language);
  applyTexts();
  await useTheme(isDarkOfficeTheme(undefined));
  byId("outside-office").hidden = false;
  byId("history-area").hidden = true;
  byId("app").setAttribute("aria-busy", "false");
}

whenOfficeReady((inPowerPointOrWord) => (inPowerPointOrWord ? start() : outsideOffice()));
