// @ts-check
// The only code that calls Office.js. Universal paths first (setSelectedDataAsync in PowerPoint,
// insertInlinePictureFromBase64 in Word); alt text, backgrounds and slide size only where the API set has them.
// Signing in (sign_in.js) goes through here too: nested app authentication's check, Office SSO, the dialog.
import { toBase64 } from "./base64.js";
import { t } from "./strings.js";

/** A picture the pane has: raw base64 (no data: prefix) and its size in pixels.
 * @typedef {{ base64: string, width: number, height: number }} Picture */
/** The picture selected in the slide or document; sizes and place in points.
 * @typedef {{ id?: string, base64: string, left?: number, top?: number, width: number, height: number, altText: string }} SelectedPicture */

const WEB_IMAGE_LIMIT = 5 * 1024 * 1024;  // PowerPoint and Word on the web refuse bigger pictures

// Calls `ready(true)` once Office has loaded the pane in PowerPoint or Word, `ready(false)` anywhere else
// (a plain browser has no Office.js at all).
/** @param {(inPowerPointOrWord: boolean) => void} ready */
export function whenOfficeReady(ready) {
  if (typeof Office === "undefined") return ready(false);
  Office.onReady(() => ready(inOffice()));
}

export function inOffice() {
  return typeof Office !== "undefined" && Office.context && ["PowerPoint", "Word"].includes(hostName());
}

/** @returns {string} "PowerPoint", "Word" or another host's name */
export function hostName() {
  const host = Office.context.host;
  return typeof host === "string" ? host : Object.keys(Office.HostType || {}).find((k) => /** @type {any} */ (Office.HostType)[k] === host) || "";
}

/** @param {string} set @param {string} version */
const supports = (set, version) => Office.context.requirements.isSetSupported(set, version);

// The language Office shows its own menus in ("de-DE"), for the pane's strings.
export function displayLanguage() {
  return Office.context.displayLanguage;
}

/** The host's theme, if it has one (Office on the web and older hosts may not). @returns {Office.OfficeTheme | undefined} */
export function officeTheme() {
  return Office.context.officeTheme || undefined;
}

// Calls `changed(theme)` when the person switches Office's theme, where the host tells add-ins.
/** @param {(theme: Office.OfficeTheme) => void} changed */
export function onThemeChange(changed) {
  const document = /** @type {any} */ (Office.context.document);
  if (!document || typeof document.addHandlerAsync !== "function" || !Office.EventType.OfficeThemeChanged) return;
  document.addHandlerAsync(Office.EventType.OfficeThemeChanged, (/** @type {Office.OfficeThemeChangedEventArgs} */ event) => changed(event.officeTheme));
}

export function features() {
  const ppt = hostName() === "PowerPoint";
  return {
    background: ppt && supports("PowerPointApi", "1.10"),
    altText: ppt ? supports("PowerPointApi", "1.10") : true,
    slideSize: ppt && supports("PowerPointApi", "1.10"),
    // Reading the selected picture: Shape.getImageAsBase64 in PowerPoint, InlinePicture.getBase64ImageSrc in Word.
    changePicture: ppt ? supports("PowerPointApi", "1.10") : supports("WordApi", "1.1"),
  };
}

// The shape of the place the picture goes, in points: the slide, or Word's usual text width.
export async function targetSize() {
  if (hostName() === "Word") return { width: 468, height: 263 };
  if (features().slideSize) {
    return PowerPoint.run(async (context) => {
      const setup = context.presentation.pageSetup;
      setup.load("slideWidth,slideHeight");
      await context.sync();
      return { width: setup.slideWidth, height: setup.slideHeight };
    });
  }
  return { width: 960, height: 540 };  // 16:9, PowerPoint's default
}

// Insert a picture; `altText` = the prompt.
/** @param {Picture} image @param {{ altText: string, asBackground: boolean }} options */
export async function insertImage(image, { altText, asBackground }) {
  const base64 = image.base64.length > WEB_IMAGE_LIMIT ? await asSmallerJpeg(image) : image.base64;
  if (hostName() === "Word") return insertIntoWord(base64, image, altText);
  if (asBackground) return setSlideBackground(base64);
  return insertOnSlide(base64, image, altText);
}

/** @param {string} base64 @param {Picture} image @param {string} altText */
async function insertOnSlide(base64, image, altText) {
  const slide = await targetSize();
  const width = slide.width * 0.5;
  const height = width * image.height / image.width;
  await putPictureOnSlide(base64, { left: (slide.width - width) / 2, top: (slide.height - height) / 2, width, height });
  if (features().altText) await nameNewestShape(altText, { withTitle: true });
}

// The one universal way to put a picture on a slide, at a place and size in points.
/** @param {string} base64 @param {{ left: number, top: number, width: number, height: number }} place @returns {Promise<void>} */
function putPictureOnSlide(base64, { left, top, width, height }) {
  return new Promise((resolve, reject) => {
    Office.context.document.setSelectedDataAsync(base64, {
      coercionType: Office.CoercionType.Image, imageLeft: left, imageTop: top, imageWidth: width, imageHeight: height,
    }, (result) => (result.status === Office.AsyncResultStatus.Succeeded ? resolve() : reject(new Error(result.error.message))));
  });
}

/** @param {string} base64 */
async function setSlideBackground(base64) {
  await PowerPoint.run(async (context) => {
    const slide = context.presentation.getSelectedSlides().getItemAt(0);
    slide.background.fill.setPictureOrTextureFill({ imageBase64: base64, transparency: 0 });  // transparency is required
    await context.sync();
  });
}

/** @param {string} base64 @param {Picture} image @param {string} altText */
async function insertIntoWord(base64, image, altText) {
  await Word.run(async (context) => {
    const picture = context.document.getSelection().insertInlinePictureFromBase64(base64, "Replace");
    picture.lockAspectRatio = true;
    picture.width = 468;  // the text width of a Letter/A4 page with default margins, in points
    picture.height = 468 * image.height / image.width;
    picture.altTextTitle = t("generatedImage");
    picture.altTextDescription = altText;
    await context.sync();
  });
}

// -- changing the selected picture ---------------------------------------------------------------------------------
// The selected picture, or null when none is.
/** @returns {Promise<SelectedPicture | null>} */
export async function selectedPicture() {
  if (hostName() === "Word") {
    return Word.run(async (context) => {
      const pictures = context.document.getSelection().inlinePictures;
      pictures.load("items/width,items/height,items/altTextDescription");
      await context.sync();
      if (!pictures.items.length) return null;
      const picture = pictures.items[0];
      const data = picture.getBase64ImageSrc();
      await context.sync();
      return { base64: data.value, width: picture.width, height: picture.height, altText: picture.altTextDescription || "" };
    });
  }
  return PowerPoint.run(async (context) => {
    const shapes = context.presentation.getSelectedShapes();
    shapes.load("items/id,items/type,items/left,items/top,items/width,items/height,items/altTextDescription");
    await context.sync();
    const shape = shapes.items.find((item) => item.type === "Image");
    if (!shape) return null;
    const data = shape.getImageAsBase64({ format: "Png" });
    await context.sync();
    return { id: shape.id, base64: data.value, left: shape.left, top: shape.top, width: shape.width,
             height: shape.height, altText: shape.altTextDescription || "" };
  });
}

// Put `image` in place of `original` (same place and size, alt text `altText`), or beside it.
/** @param {Picture} image @param {SelectedPicture} original @param {{ altText: string, replace: boolean }} options */
export async function placeByPicture(image, original, { altText, replace }) {
  const base64 = image.base64.length > WEB_IMAGE_LIMIT ? await asSmallerJpeg(image) : image.base64;
  const height = original.width * image.height / image.width;
  if (hostName() === "Word") {
    return Word.run(async (context) => {
      const pictures = context.document.getSelection().inlinePictures;
      pictures.load("items");
      await context.sync();
      if (!pictures.items.length) throw new Error(t("selectAgain"));
      const placed = pictures.items[0].insertInlinePictureFromBase64(base64, replace ? "Replace" : "After");
      placed.lockAspectRatio = true;
      placed.width = original.width;
      placed.height = height;
      placed.altTextDescription = altText;
      await context.sync();
    });
  }
  const slide = await targetSize();
  const originalLeft = original.left || 0;
  const left = replace ? originalLeft : Math.min(originalLeft + original.width + 12, Math.max(0, slide.width - original.width));
  await putPictureOnSlide(base64, { left, top: original.top || 0, width: original.width, height });
  await nameNewestShape(altText, { withTitle: false, removeId: replace ? original.id : undefined });
}

// Name the picture just put on the slide (the newest shape) and give it `altText`; remove the shape `removeId`.
/** @param {string} altText @param {{ withTitle: boolean, removeId?: string }} options */
async function nameNewestShape(altText, { withTitle, removeId }) {
  await PowerPoint.run(async (context) => {
    const shapes = context.presentation.getSelectedSlides().getItemAt(0).shapes;
    shapes.load("items");
    await context.sync();
    const picture = shapes.items[shapes.items.length - 1];
    picture.name = t("generatedImage");
    if (withTitle) picture.altTextTitle = t("generatedImage");
    picture.altTextDescription = altText;
    if (removeId) shapes.getItem(removeId).delete();
    await context.sync();
  });
}

/** @param {Picture} image */
async function asSmallerJpeg(image) {
  // Decoded here, not fetched from a data: URL, which the pane's Content-Security-Policy does not allow.
  const bytes = Uint8Array.from(atob(image.base64), (character) => character.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d")).drawImage(bitmap, 0, 0);
  for (let quality = 0.9; quality > 0.3; quality -= 0.15) {
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
    const base64 = toBase64(await blob.arrayBuffer());
    if (base64.length <= WEB_IMAGE_LIMIT) return base64;
  }
  throw new Error(t("tooLarge"));
}

// -- signing in (sign_in.js) ------------------------------------------------------------------------------------
export function nestedAppAuthSupported() {
  return supports("NestedAppAuth", "1.1");
}

/** @returns {Promise<string>} */
export function officeSsoToken() {
  return Office.auth.getAccessToken({ allowSignInPrompt: true, allowConsentPrompt: true });
}

// Our sign-in page in Office's dialog (MSAL's code flow on the server); resolves with the access token.
/** @param {string} url @returns {Promise<string>} */
export function openSignInDialog(url) {
  return new Promise((resolve, reject) => {
    Office.context.ui.displayDialogAsync(url, { height: 60, width: 30 }, (result) => {
      if (result.status === Office.AsyncResultStatus.Failed) return reject(new Error(result.error.message));
      const dialog = result.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (/** @type {any} */ arg) => {
        const message = JSON.parse(arg.message);
        dialog.close();
        if (message.status === "success") resolve(message.accessToken);
        else reject(new Error(message.error));
      });
    });
  });
}
