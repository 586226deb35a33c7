// The request form: its choices, what it asks for, and the progress bar while a job runs.
const $ = (id) => document.getElementById(id);

const SHAPES = [["wide", "Wide 16:9"], ["standard", "Standard 4:3"], ["square", "Square"], ["tall", "Tall 9:16"]];

export class RequestForm {
  constructor(settings) {
    this.settings = settings;
  }

  fillChoices() {
    const add = (select, entries) => select.replaceChildren(...entries.map(([value, label]) => new Option(label, value)));
    const most = this.settings.maxImages;
    add($("count"), Array.from({ length: most }, (_, i) => [String(i + 1), String(i + 1)]));
    $("count").value = String(Math.min(most, 2));
    add($("style"), this.settings.styles.map(([name]) => [name, name === "none" ? "No style" : name[0].toUpperCase() + name.slice(1)]));
    add($("shape"), SHAPES);
  }

  // The shape closest to where the picture goes: the slide's, or wide for Word's page width.
  startFrom({ width, height }, host) {
    const ratio = width / height;
    $("shape").value = host === "Word" ? "wide" : ratio > 1.5 ? "wide" : ratio > 1.1 ? "standard" : "square";
  }

  // The job's fields, and the prompt as the person wrote it (the alt text, without the style words).
  read() {
    const style = new Map(this.settings.styles).get($("style").value);
    const prompt = $("prompt").value.trim();
    const fields = {
      prompt: style ? `${prompt}, ${style}` : prompt,
      n: Number($("count").value),
      size: this.settings.sizes[$("shape").value],  // the model's nearest size for that shape, from the server
    };
    if ($("seed").value) fields.seed = Number($("seed").value);
    if ($("steps").value) fields.steps = Number($("steps").value);
    if ($("negative").value.trim()) fields.negative_prompt = $("negative").value.trim();
    return { fields, describedAs: prompt };
  }

  setBusy(busy) {
    $("generate").disabled = busy;
    $("cancel").hidden = !busy;
    $("progress-area").hidden = !busy;
    $("app").setAttribute("aria-busy", String(busy));
    if (busy) { $("progress").value = 0; $("progress-label").textContent = "Waiting…"; }
  }

  showProgress(job) {
    const { step, total_steps: total, queue_position: position } = job.progress;
    $("progress").max = total || 1;
    $("progress").value = step;
    $("progress-label").textContent = job.status === "queued" ? `Waiting in line (${position} ahead)…`
      : `Generating: step ${step} of ${total}`;
  }
}
