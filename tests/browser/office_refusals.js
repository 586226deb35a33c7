// Calls that Office (and its typings) refuse, made against the Office double by test_office_standard.py.
async () => {
  const refused = async (work) => { try { await work(); return null; } catch (error) { return error.message; } };
  const png = "iVBORw0KGgo=";
  const setData = (data, options) => new Promise((resolve, reject) => Office.context.document.setSelectedDataAsync(
    data, options, (r) => (r.status === "succeeded" ? resolve() : reject(new Error(r.error.message)))));
  const place = { coercionType: Office.CoercionType.Image, imageLeft: 1, imageTop: 1, imageWidth: 10, imageHeight: 10 };
  return {
    noTransparency: await refused(() => PowerPoint.run(async (c) => c.presentation.getSelectedSlides().getItemAt(0).background.fill.setPictureOrTextureFill({ imageBase64: png }))),
    dataPrefix: await refused(() => setData("data:image/png;base64," + png, place)),
    pixelsAsText: await refused(() => setData(png, { ...place, imageWidth: "480px" })),
    wrongCoercion: await refused(() => setData(png, { ...place, coercionType: "text" })),
    unknownOption: await refused(() => setData(png, { ...place, imageAlt: "x" })),
    noCallback: await refused(() => Office.context.document.setSelectedDataAsync(png, place)),
    notLoaded: await refused(() => PowerPoint.run(async (c) => c.presentation.getSelectedSlides().getItemAt(0).shapes.items)),
    loadedNotSynced: await refused(() => PowerPoint.run(async (c) => { const s = c.presentation.getSelectedSlides().getItemAt(0).shapes; s.load("items"); return s.items; })),
    badFormat: await refused(() => PowerPoint.run(async (c) => { const s = c.presentation.getSelectedShapes(); s.load("items"); await c.sync(); s.items[0].getImageAsBase64({ format: "Jpeg" }); })),
    wordLocation: await refused(() => Word.run(async (c) => c.document.getSelection().insertInlinePictureFromBase64(png, "Inside"))),
    wordWidthText: await refused(() => Word.run(async (c) => { const p = c.document.getSelection().insertInlinePictureFromBase64(png, "Replace"); p.width = "468pt"; await c.sync(); })),
    dialogSize: await refused(() => new Promise((resolve) => Office.context.ui.displayDialogAsync(location.origin + "/auth/login", { width: 500 }, resolve))),
    dialogElsewhere: await refused(() => new Promise((resolve) => Office.context.ui.displayDialogAsync("https://example.invalid/", {}, resolve))),
    ssoOptionType: await refused(() => Office.auth.getAccessToken({ allowSignInPrompt: "yes" })),
    goodCall: await refused(() => setData(png, place)),
  };
}
