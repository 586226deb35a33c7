// @ts-check
// Every word the pane and the Teams dialog show, in each language they speak. Office's display language (or
// Teams' locale) picks one; English is the fallback. The pages' own text comes from here too: an element with
// data-text="key" gets that string as its text, data-label="key" as its aria-label, data-placeholder="key" as
// its placeholder.

/** @typedef {Record<string, string>} Strings */

/** @type {Strings} */
const en = {
  title: "Image Generator",
  dialogTitle: "Generate an image",
  outsideOffice: "Open this in PowerPoint or Word: Home → Generate image.",
  changeSelected: "Change the selected picture",
  changingPicture: "The picture being changed",
  strength: "How much to change it",
  stopChanging: "Make a new picture instead",
  describe: "Describe the image",
  placeholder: "a yellow star on a night sky",
  dialogPlaceholder: "our product on a desk",
  shape: "Shape",
  variationsCount: "Variations",
  style: "Style",
  advanced: "Advanced",
  seed: "Seed",
  steps: "Steps",
  avoid: "Avoid",
  generate: "Generate",
  change: "Change",
  cancel: "Cancel",
  signIn: "Sign in",
  signInAgain: "Try signing in again",
  variations: "Variations",
  generatedVariations: "Generated variations",
  chooseOne: "Choose one",
  insertHeading: "Insert",
  onSlide: "On the slide",
  asBackground: "As the slide background",
  insert: "Insert",
  replace: "Replace",
  moreLikeThis: "More like this",
  post: "Post",
  recent: "Recent",
  recentImages: "Recent images",
  shapeWide: "Wide 16:9",
  shapeStandard: "Standard 4:3",
  shapeSquare: "Square",
  shapeTall: "Tall 9:16",
  noStyle: "No style",
  styleNames: "photo=Photo|illustration=Illustration|flat=Flat|watercolour=Watercolour|sketch=Sketch",
  waiting: "Waiting…",
  waitingInLine: "Waiting in line ({position} ahead)…",
  generating: "Generating: step {step} of {total}",
  variationProgress: "Variation {index}: step {step} of {total}",
  variationWaiting: "Variation {index}: waiting",
  variationLabel: "Variation {index}, seed {seed}",
  variationAlt: "{prompt} (variation {index})",
  insertAgain: "Insert again: {prompt}",
  unknownWords: "This model does not know: {words}",
  inserted: "Inserted.",
  insertedBeside: "Inserted beside the original.",
  setAsBackground: "Set as the slide background.",
  replaced: "Replaced the original picture.",
  cancelled: "Cancelled.",
  failed: "The generation failed.",
  noPicture: "No picture this time: {reason}.",
  signedIn: "Signed in.",
  signInFailed: "Sign-in failed: {reason}",
  signInToGenerate: "Sign in to generate images.",
  consentNeeded: "Your organization has not allowed this app yet. Sign in to give consent.",
  busy: "The image server is busy.",
  busyRetry: "The image server is busy. Try again in {seconds} s.",
  unreachable: "The image server cannot be reached. Check your connection.",
  serverAnswered: "The server answered {status}.",
  officeRefused: "Office refused the picture: {reason}",
  readSelectedFailed: "Office could not read the selected picture: {reason}",
  selectFirst: "Select a picture in the document first, then choose Change the selected picture.",
  selectAgain: "Select the picture again: it is no longer selected.",
  tooLarge: "The picture is too large for Office, even as a JPEG.",
  describeFirst: "Describe the picture first.",
  teamsSignInFailed: "Teams could not sign you in ({reason}).",
  teamsOnly: "This dialog works inside Teams only ({reason}).",
  generatedImage: "Generated image",
};

/** @type {Strings} */
const de = {
  title: "Bildgenerator",
  dialogTitle: "Ein Bild erzeugen",
  outsideOffice: "Öffnen Sie dies in PowerPoint oder Word: Start → Bild erzeugen.",
  changeSelected: "Ausgewähltes Bild ändern",
  changingPicture: "Das Bild, das geändert wird",
  strength: "Wie stark ändern",
  stopChanging: "Stattdessen ein neues Bild erzeugen",
  describe: "Beschreiben Sie das Bild",
  placeholder: "ein gelber Stern am Nachthimmel",
  dialogPlaceholder: "unser Produkt auf einem Schreibtisch",
  shape: "Format",
  variationsCount: "Varianten",
  style: "Stil",
  advanced: "Erweitert",
  seed: "Startwert",
  steps: "Schritte",
  avoid: "Vermeiden",
  generate: "Erzeugen",
  change: "Ändern",
  cancel: "Abbrechen",
  signIn: "Anmelden",
  signInAgain: "Erneut anmelden",
  variations: "Varianten",
  generatedVariations: "Erzeugte Varianten",
  chooseOne: "Eine auswählen",
  insertHeading: "Einfügen",
  onSlide: "Auf der Folie",
  asBackground: "Als Folienhintergrund",
  insert: "Einfügen",
  replace: "Ersetzen",
  moreLikeThis: "Mehr davon",
  post: "Posten",
  recent: "Zuletzt",
  recentImages: "Zuletzt erzeugte Bilder",
  shapeWide: "Breit 16:9",
  shapeStandard: "Standard 4:3",
  shapeSquare: "Quadratisch",
  shapeTall: "Hoch 9:16",
  noStyle: "Kein Stil",
  styleNames: "photo=Foto|illustration=Illustration|flat=Flach|watercolour=Aquarell|sketch=Skizze",
  waiting: "Warten…",
  waitingInLine: "In der Warteschlange ({position} davor)…",
  generating: "Wird erzeugt: Schritt {step} von {total}",
  variationProgress: "Variante {index}: Schritt {step} von {total}",
  variationWaiting: "Variante {index}: wartet",
  variationLabel: "Variante {index}, Startwert {seed}",
  variationAlt: "{prompt} (Variante {index})",
  insertAgain: "Erneut einfügen: {prompt}",
  unknownWords: "Diese Wörter kennt das Modell nicht: {words}",
  inserted: "Eingefügt.",
  insertedBeside: "Neben dem Original eingefügt.",
  setAsBackground: "Als Folienhintergrund festgelegt.",
  replaced: "Das Original wurde ersetzt.",
  cancelled: "Abgebrochen.",
  failed: "Das Erzeugen ist fehlgeschlagen.",
  noPicture: "Diesmal kein Bild: {reason}.",
  signedIn: "Angemeldet.",
  signInFailed: "Anmeldung fehlgeschlagen: {reason}",
  signInToGenerate: "Melden Sie sich an, um Bilder zu erzeugen.",
  consentNeeded: "Ihre Organisation hat diese App noch nicht zugelassen. Melden Sie sich an, um zuzustimmen.",
  busy: "Der Bildserver ist ausgelastet.",
  busyRetry: "Der Bildserver ist ausgelastet. Versuchen Sie es in {seconds} s erneut.",
  unreachable: "Der Bildserver ist nicht erreichbar. Prüfen Sie Ihre Verbindung.",
  serverAnswered: "Der Server antwortete mit {status}.",
  officeRefused: "Office hat das Bild abgelehnt: {reason}",
  readSelectedFailed: "Office konnte das ausgewählte Bild nicht lesen: {reason}",
  selectFirst: "Wählen Sie zuerst ein Bild im Dokument aus und dann „Ausgewähltes Bild ändern“.",
  selectAgain: "Wählen Sie das Bild erneut aus: Es ist nicht mehr ausgewählt.",
  tooLarge: "Das Bild ist selbst als JPEG zu groß für Office.",
  describeFirst: "Beschreiben Sie zuerst das Bild.",
  teamsSignInFailed: "Teams konnte Sie nicht anmelden ({reason}).",
  teamsOnly: "Dieses Fenster funktioniert nur in Teams ({reason}).",
  generatedImage: "Erzeugtes Bild",
};

/** The languages shipped, by their primary subtag. */
export const LANGUAGES = /** @type {Record<string, Strings>} */ ({ en, de });

let current = en;
let currentLanguage = "en";

/**
 * Use the strings for `locale` ("de-DE", "de", "en-US"…), falling back to English; returns the language used.
 * @param {string | undefined | null} locale
 */
export function useLanguage(locale) {
  const primary = String(locale || "en").toLowerCase().split("-")[0];
  currentLanguage = primary in LANGUAGES ? primary : "en";
  current = LANGUAGES[currentLanguage];
  document.documentElement.lang = currentLanguage;
  return currentLanguage;
}

/**
 * The string `key` with each {name} replaced by `values[name]`.
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 */
export function t(key, values = {}) {
  const text = current[key] ?? en[key];
  if (text === undefined) throw new Error(`no string ${key}`);
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? `{${name}}`));
}

/** A style preset's name as shown, from `styleNames` ("photo=Photo|…"); the preset's own name otherwise. @param {string} name */
export function styleName(name) {
  if (name === "none") return t("noStyle");
  const names = new Map(t("styleNames").split("|").map((pair) => /** @type {[string, string]} */ (pair.split("="))));
  return names.get(name) || name[0].toUpperCase() + name.slice(1);
}

/** Fill every data-text, data-label and data-placeholder under `root` from the current language. @param {ParentNode} root */
export function applyTexts(root = document) {
  root.querySelectorAll("[data-text]").forEach((element) => { element.textContent = t(/** @type {string} */ (element.getAttribute("data-text"))); });
  root.querySelectorAll("[data-label]").forEach((element) => element.setAttribute("aria-label", t(/** @type {string} */ (element.getAttribute("data-label")))));
  root.querySelectorAll("[data-placeholder]").forEach((element) => element.setAttribute("placeholder", t(/** @type {string} */ (element.getAttribute("data-placeholder")))));
}
