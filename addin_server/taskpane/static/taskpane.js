// The task pane: prompt → job → live progress → variations → insert into the slide or document.
// The form (form.js), the variations (results.js) and the recent images (history.js) each keep their own state;
// this module starts them and runs one generation at a time.
import { Api } from "./api.js";
import { RequestForm } from "./form.js";
import { History } from "./history.js";
import { explain as explainWith, show } from "./messages.js";
import { PictureChange } from "./change.js";
import { features, hostName, insertImage, placeByPicture, targetSize, whenOfficeReady } from "./office_host.js";
import { Results } from "./results.js";
import { SignIn } from "./sign_in.js";

const settings = JSON.parse(document.getElementById("settings").textContent);
const $ = (id) => document.getElementById(id);

const signIn = new SignIn(settings);
const api = new Api(() => signIn.token());
const explain = (error) => explainWith(error, settings.signIn);
const form = new RequestForm(settings);

const change = new PictureChange(show);
let changedFrom = null;  // the picture the shown variations were made from (Insert then goes beside it)

async function insertAndTell(image, altText, asBackground) {
  try {
    if (changedFrom) await placeByPicture(image, changedFrom, { altText, replace: false });
    else await insertImage(image, { altText, asBackground });
    show(asBackground ? "Set as the slide background." : changedFrom ? "Inserted beside the original." : "Inserted.");
  } catch (error) {
    explain(error);
  }
}

async function replaceOriginal() {
  const image = results.selectedImage();
  if (!image || !changedFrom) return;
  try {
    await placeByPicture(image, changedFrom, { altText: results.altText, replace: true });
    show("Replaced the original picture.");
  } catch (error) {
    explain(error);
  }
}

const results = new Results(api, insertAndTell);
const history = new History(api, insertAndTell, explain);

// -- one generation at a time ---------------------------------------------------------------------------------
let running = null;      // the job being followed, and how to stop following it
let lastRequest = null;  // for "More like this"

async function generate({ fields, describedAs }, from = change.active ? change.original : null) {
  show("");
  lastRequest = { fields, describedAs };
  if (from && fields.image_id === undefined && change.active) {
    const { size, ...rest } = fields;  // an edit keeps the picture's own shape
    fields = { ...rest, ...change.fields() };
  }
  form.setBusy(true);
  try {
    const job = await api.createJob(fields);
    running = { job, abort: new AbortController() };
    const final = await api.followJob(job, (_, update) => form.showProgress(update), running.abort.signal);
    if (final.status === "succeeded") {
      changedFrom = from;
      await results.show(final, describedAs);
      $("replace").hidden = !changedFrom;
    }
    else if (final.status === "cancelled") show("Cancelled.");
    else show(final.error ? final.error.message : "The generation failed.", true);
  } catch (error) {
    if (error.name !== "AbortError") explain(error);
  } finally {
    form.setBusy(false);
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
  if (!image) return;
  const { seed, image: _, strength, size, ...fields } = lastRequest.fields;
  generate({ fields: { ...fields, image_id: image.id, strength: 0.5 }, describedAs: lastRequest.describedAs }, changedFrom);
}

async function signInInteractively() {
  try {
    await signIn.interactive();
    show("Signed in.");
    $("sign-in").hidden = true;
  } catch (error) {
    show(`Sign-in failed: ${error.message}`, true);
  }
}

// -- start ------------------------------------------------------------------------------------------------------
async function start() {
  form.fillChoices();
  form.startFrom(await targetSize(), hostName());
  $("background-option").hidden = !features().background;
  $("placement").hidden = hostName() === "Word";
  $("generate-form").hidden = false;
  $("generate-form").addEventListener("submit", (event) => { event.preventDefault(); generate(form.read()); });
  $("cancel").addEventListener("click", cancel);
  $("insert").addEventListener("click", () => results.insertSelected());
  $("more").addEventListener("click", moreLikeThis);
  $("replace").addEventListener("click", replaceOriginal);
  $("change-selected").hidden = !features().changePicture;
  $("change-selected").addEventListener("click", () => change.start());
  $("stop-changing").addEventListener("click", () => change.stop());
  $("sign-in").addEventListener("click", signInInteractively);
  $("app").setAttribute("aria-busy", "false");
  $("prompt").focus();
  history.refresh();
}

function outsideOffice() {
  $("outside-office").hidden = false;
  $("history-area").hidden = true;
  $("app").setAttribute("aria-busy", "false");
}

whenOfficeReady((inPowerPointOrWord) => (inPowerPointOrWord ? start() : outsideOffice()));
