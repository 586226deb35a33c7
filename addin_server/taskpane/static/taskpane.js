// The task pane: prompt → job → live progress → variations → insert into the slide or document.
// The form (form.js), the variations (results.js) and the recent images (history.js) each keep their own state;
// this module starts them and runs one generation at a time.
import { Api } from "./api.js";
import { RequestForm } from "./form.js";
import { History } from "./history.js";
import { explain as explainWith, show } from "./messages.js";
import { features, hostName, insertImage, targetSize, whenOfficeReady } from "./office_host.js";
import { Results } from "./results.js";
import { SignIn } from "./sign_in.js";

const settings = JSON.parse(document.getElementById("settings").textContent);
const $ = (id) => document.getElementById(id);

const signIn = new SignIn(settings);
const api = new Api(() => signIn.token());
const explain = (error) => explainWith(error, settings.signIn);
const form = new RequestForm(settings);

async function insertAndTell(image, altText, asBackground) {
  try {
    await insertImage(image, { altText, asBackground });
    show(asBackground ? "Set as the slide background." : "Inserted.");
  } catch (error) {
    explain(error);
  }
}

const results = new Results(api, insertAndTell);
const history = new History(api, insertAndTell, explain);

// -- one generation at a time ---------------------------------------------------------------------------------
let running = null;      // the job being followed, and how to stop following it
let lastRequest = null;  // for "More like this"

async function generate({ fields, describedAs }) {
  show("");
  lastRequest = { fields, describedAs };
  form.setBusy(true);
  try {
    const job = await api.createJob(fields);
    running = { job, abort: new AbortController() };
    const final = await api.followJob(job, (_, update) => form.showProgress(update), running.abort.signal);
    if (final.status === "succeeded") await results.show(final, describedAs);
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

function moreLikeThis() {
  const { seed, ...fields } = lastRequest.fields;  // new seeds
  generate({ fields, describedAs: lastRequest.describedAs });
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
