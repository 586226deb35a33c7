// The task pane: prompt → job → live progress → variations → insert into the slide or document.
import { Api, ApiError } from "./api.js";
import { SignIn } from "./sign_in.js";
import { features, hostName, inOffice, insertImage, targetSize } from "./office_host.js";

const settings = JSON.parse(document.getElementById("settings").textContent);
const $ = (id) => document.getElementById(id);
const state = { job: null, images: [], selected: null, prompt: "", describedAs: "", abort: null, lastRequest: null };

// -- sign-in: see sign_in.js ------------------------------------------------------------------------------
const signIn = new SignIn(settings);

async function signInInteractively() {
  try {
    await signIn.interactive();
    show("Signed in.");
    $("sign-in").hidden = true;
  } catch (error) {
    show(`Sign-in failed: ${error.message}`, true);
  }
}

const api = new Api(() => signIn.token());

// -- messages ---------------------------------------------------------------------------------------------
function show(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
  message.hidden = !text;
}

function explain(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      $("sign-in").hidden = settings.signIn === "local";
      return show("Sign in to generate images.", true);
    }
    if (error.code === "consent_required") {
      $("sign-in").hidden = false;
      return show("Your organization has not allowed this app yet. Sign in to give consent.", true);
    }
    if (error.status === 429) {
      const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
      return show(`The image server is busy.${wait}`, true);
    }
    if (error.param) return show(`${error.message}`, true);
    return show(error.message, true);
  }
  show(`Office refused the picture: ${error.message}`, true);
}

// -- generating -------------------------------------------------------------------------------------------
function sizeFor(shape) {
  return settings.sizes[shape];  // the model's nearest size for that shape, from the server
}

function readForm() {
  const style = new Map(settings.styles).get($("style").value);
  state.describedAs = $("prompt").value.trim();  // alt text: what the person asked for, without the style words
  const fields = {
    prompt: style ? `${$("prompt").value.trim()}, ${style}` : $("prompt").value.trim(),
    n: Number($("count").value),
    size: sizeFor($("shape").value),
  };
  if ($("seed").value) fields.seed = Number($("seed").value);
  if ($("steps").value) fields.steps = Number($("steps").value);
  if ($("negative").value.trim()) fields.negative_prompt = $("negative").value.trim();
  return fields;
}

async function generate(fields) {
  show("");
  state.lastRequest = fields;
  setBusy(true);
  try {
    state.job = await api.createJob(fields);
    state.abort = new AbortController();
    const job = await api.followJob(state.job, (_, update) => showProgress(update), state.abort.signal);
    if (job.status === "succeeded") await showResults(job);
    else if (job.status === "cancelled") show("Cancelled.");
    else show(job.error ? job.error.message : "The generation failed.", true);
  } catch (error) {
    if (error.name !== "AbortError") explain(error);
  } finally {
    setBusy(false);
    refreshHistory();
  }
}

function showProgress(job) {
  const { step, total_steps: total, queue_position: position } = job.progress;
  $("progress").max = total || 1;
  $("progress").value = step;
  $("progress-label").textContent = job.status === "queued" ? `Waiting in line (${position} ahead)…`
    : `Generating: step ${step} of ${total}`;
}

function setBusy(busy) {
  $("generate").disabled = busy;
  $("cancel").hidden = !busy;
  $("progress-area").hidden = !busy;
  $("app").setAttribute("aria-busy", String(busy));
  if (busy) { $("progress").value = 0; $("progress-label").textContent = "Waiting…"; }
}

async function cancel() {
  if (!state.job) return;
  try { await api.cancelJob(state.job.id); } catch (error) { explain(error); }
}

// -- choosing and inserting --------------------------------------------------------------------------------
async function showResults(job) {
  state.prompt = state.describedAs || job.request.prompt;
  state.images = await Promise.all(job.images.map(async (image) => ({ ...image, base64: await api.imageBase64(image.url) })));
  const grid = $("grid");
  grid.replaceChildren(...state.images.map((image, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "option");
    button.setAttribute("aria-selected", "false");
    button.setAttribute("aria-label", `Variation ${index + 1}, seed ${image.seed}`);
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${image.base64}`;
    img.alt = `${state.prompt} (variation ${index + 1})`;
    button.append(img);
    button.addEventListener("click", () => select(index));
    return button;
  }));
  $("results").hidden = false;
  select(0);
  grid.querySelector("button").focus();
}

function select(index) {
  state.selected = index;
  $("grid").querySelectorAll("button").forEach((button, i) => button.setAttribute("aria-selected", String(i === index)));
  $("insert").disabled = false;
}

async function insertSelected() {
  const image = state.images[state.selected];
  if (!image) return;
  const asBackground = document.querySelector("input[name=placement]:checked").value === "background";
  try {
    await insertImage(image, { altText: state.prompt, asBackground });
    show(asBackground ? "Set as the slide background." : "Inserted.");
  } catch (error) {
    explain(error);
  }
}

function moreLikeThis() {
  const fields = { ...state.lastRequest };
  delete fields.seed;  // new seeds
  generate(fields);
}

// -- history -------------------------------------------------------------------------------------------------
async function refreshHistory() {
  try {
    const page = await api.history();
    const tiles = [];
    for (const job of page.data.filter((j) => j.status === "succeeded")) {
      for (const image of job.images) {
        const button = document.createElement("button");
        button.type = "button";
        button.setAttribute("aria-label", `Insert again: ${job.request.prompt}`);
        const img = document.createElement("img");
        img.alt = job.request.prompt;
        img.src = `data:image/png;base64,${await api.imageBase64(image.url)}`;
        button.append(img);
        button.addEventListener("click", async () => {
          try {
            await insertImage({ ...image, base64: img.src.split(",")[1] }, { altText: job.request.prompt, asBackground: false });
            show("Inserted.");
          } catch (error) { explain(error); }
        });
        tiles.push(button);
      }
    }
    $("history").replaceChildren(...tiles.slice(0, 12));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) explain(error);
  }
}

// -- start ---------------------------------------------------------------------------------------------------
function fillChoices() {
  const add = (select, entries) => select.replaceChildren(...entries.map(([value, label]) => new Option(label, value)));
  add($("count"), Array.from({ length: settings.maxImages }, (_, i) => [String(i + 1), String(i + 1)]));
  $("count").value = String(Math.min(settings.maxImages, 2));
  add($("style"), settings.styles.map(([name]) => [name, name === "none" ? "No style" : name[0].toUpperCase() + name.slice(1)]));
  add($("shape"), [["wide", "Wide 16:9"], ["standard", "Standard 4:3"], ["square", "Square"], ["tall", "Tall 9:16"]]);
}

async function start() {
  fillChoices();
  const { width, height } = await targetSize();
  const ratio = width / height;
  $("shape").value = hostName() === "Word" ? "wide" : ratio > 1.5 ? "wide" : ratio > 1.1 ? "standard" : "square";
  $("background-option").hidden = !features().background;
  $("placement").hidden = hostName() === "Word";
  $("generate-form").hidden = false;
  $("generate-form").addEventListener("submit", (event) => { event.preventDefault(); generate(readForm()); });
  $("cancel").addEventListener("click", cancel);
  $("insert").addEventListener("click", insertSelected);
  $("more").addEventListener("click", moreLikeThis);
  $("sign-in").addEventListener("click", signInInteractively);
  $("app").setAttribute("aria-busy", "false");
  $("prompt").focus();
  refreshHistory();
}

function outsideOffice() {
  $("outside-office").hidden = false;
  $("history-area").hidden = true;
  $("app").setAttribute("aria-busy", "false");
}

if (typeof Office === "undefined") {
  outsideOffice();
} else {
  Office.onReady(() => (inOffice() ? start() : outsideOffice()));
}
