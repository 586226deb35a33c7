// @ts-check
// The request form: its choices, what it asks for, and the progress while a job runs (overall, and per
// variation in the grid's placeholders).
import { byId, inputById, selectById, textAreaById } from "./dom.js";
import { styleName, t } from "./strings.js";

/** What the page's settings say about the choices (from the server).
 * @typedef {{ maxImages: number, styles: [string, string][], sizes: Record<string, string> }} FormSettings */
/** A job's fields for POST /api/jobs, and the prompt as the person wrote it (the alt text).
 * @typedef {{ fields: Record<string, any>, describedAs: string }} FormRequest */
/** A job as the API shows it (the fields the pane reads).
 * @typedef {{ id: string, status: string, request: { prompt: string, n?: number }, progress: { step: number, total_steps: number, queue_position: number },
 *             images: { id: string, url: string, seed: number, width: number, height: number }[], error?: { message: string }, ignored_words?: string[], links: { events: string } }} Job */

const SHAPES = [["wide", "shapeWide"], ["standard", "shapeStandard"], ["square", "shapeSquare"], ["tall", "shapeTall"]];

/** A control that can be switched off (a native or a Fluent button). @typedef {HTMLElement & { disabled: boolean }} Control */
/** Fluent's progress bar (or a native one): a value out of a maximum. @typedef {HTMLElement & { value: number, max: number }} Meter */

// Fluent's buttons take `disabled` but do not tell the accessibility tree; aria-disabled does.
/** @param {HTMLElement} control @param {boolean} enabled */
export function setEnabled(control, enabled) {
  /** @type {Control} */ (control).disabled = !enabled;
  control.setAttribute("aria-disabled", String(!enabled));
}

export class RequestForm {
  /** @param {FormSettings} settings */
  constructor(settings) {
    this.settings = settings;
  }

  fillChoices() {
    /** @param {HTMLSelectElement} select @param {string[][]} entries */
    const add = (select, entries) => select.replaceChildren(...entries.map(([value, label]) => new Option(label, value)));
    const most = this.settings.maxImages;
    add(selectById("count"), Array.from({ length: most }, (_, i) => [String(i + 1), String(i + 1)]));
    selectById("count").value = String(Math.min(most, 2));
    add(selectById("style"), this.settings.styles.map(([name]) => [name, styleName(name)]));
    add(selectById("shape"), SHAPES.map(([value, key]) => [value, t(key)]));
  }

  // The shape closest to where the picture goes: the slide's, or wide for Word's page width.
  /** @param {{ width: number, height: number }} size @param {string} host */
  startFrom({ width, height }, host) {
    const ratio = width / height;
    selectById("shape").value = host === "Word" ? "wide" : ratio > 1.5 ? "wide" : ratio > 1.1 ? "standard" : "square";
  }

  /** @returns {FormRequest} */
  read() {
    const style = new Map(this.settings.styles).get(selectById("style").value);
    const prompt = textAreaById("prompt").value.trim();
    /** @type {Record<string, any>} */
    const fields = {
      prompt: style ? `${prompt}, ${style}` : prompt,
      n: Number(selectById("count").value),
      size: this.settings.sizes[selectById("shape").value],  // the model's nearest size for that shape, from the server
    };
    if (inputById("seed").value) fields.seed = Number(inputById("seed").value);
    if (inputById("steps").value) fields.steps = Number(inputById("steps").value);
    if (inputById("negative").value.trim()) fields.negative_prompt = inputById("negative").value.trim();
    return { fields, describedAs: prompt };
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    setEnabled(byId("generate"), !busy);
    byId("cancel").hidden = !busy;
    byId("progress-area").hidden = !busy;
    byId("app").setAttribute("aria-busy", String(busy));
    if (busy) {
      /** @type {Meter} */ (byId("progress")).value = 0;
      byId("progress-label").textContent = t("waiting");
    }
  }

  /** @param {Job} job */
  showProgress(job) {
    const { step, total_steps: total, queue_position: position } = job.progress;
    const meter = /** @type {Meter} */ (byId("progress"));
    meter.max = total || 1;
    meter.value = step;
    const waiting = job.status === "queued";
    byId("progress-label").textContent = waiting ? t("waitingInLine", { position }) : t("generating", { step, total });
    // Every variation of a job runs in the same pipeline call, so each placeholder shows the same step.
    byId("pending").querySelectorAll("[data-variation]").forEach((tile) => {
      const index = Number(tile.getAttribute("data-variation"));
      const bar = /** @type {Meter} */ (tile.querySelector("fluent-progress-bar"));
      bar.max = total || 1;
      bar.value = waiting ? 0 : step;
      const label = waiting ? t("variationWaiting", { index }) : t("variationProgress", { index, step, total });
      bar.setAttribute("aria-label", label);
      /** @type {HTMLElement} */ (tile.querySelector("span")).textContent = label;
    });
  }

  // One placeholder per variation that is being made, each with its own progress bar.
  /** @param {number} count */
  showPending(count) {
    const tiles = Array.from({ length: count }, (_, i) => {
      const tile = document.createElement("div");
      tile.className = "pending-tile";
      tile.setAttribute("data-variation", String(i + 1));
      const bar = document.createElement("fluent-progress-bar");
      bar.setAttribute("aria-label", t("variationWaiting", { index: i + 1 }));
      bar.setAttribute("max", "1");
      bar.setAttribute("value", "0");
      const label = document.createElement("span");
      label.textContent = t("variationWaiting", { index: i + 1 });
      tile.append(label, bar);
      return tile;
    });
    byId("pending").replaceChildren(...tiles);
    byId("pending").hidden = count === 0;
  }
}
