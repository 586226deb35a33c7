// A stand-in for Office.js in the browser tests: the globals the task pane uses, checking calls the way
// Office does (raw base64, sizes in points, API sets) and recording each one in window.__officeCalls.
(() => {
  const config = window.__officeConfig || { host: "PowerPoint", sets: { PowerPointApi: "1.10" } };
  const calls = (window.__officeCalls = []);
  const versionAtLeast = (have, want) => {
    const [a, b] = [have, want].map((v) => v.split(".").map(Number));
    return a[0] > b[0] || (a[0] === b[0] && (a[1] || 0) >= (b[1] || 0));
  };
  const isBase64 = (data) => typeof data === "string" && !data.startsWith("data:") && /^[A-Za-z0-9+/]+=*$/.test(data);
  // PowerPoint and Word on the web refuse a picture whose base64 is over 5 MB.
  const WEB_LIMIT = 5 * 1024 * 1024;
  const pictureProblems = (data) => (!isBase64(data) ? ["not raw base64"] : data.length > WEB_LIMIT ? ["over the 5 MB limit of Office on the web"] : []);
  const shapes = [];
  const fail = (message) => { throw new Error(message); };
  // `config.selected` = {base64, left, top, width, height, altText}: the picture the person has selected.
  const selected = config.selected ? { id: "selected-picture", type: "Image", name: "Picture 1", ...config.selected,
                                       altTextDescription: config.selected.altText || "" } : null;
  if (selected && config.host === "PowerPoint") shapes.push(selected);

  window.Office = {
    HostType: { PowerPoint: "PowerPoint", Word: "Word" },
    CoercionType: { Image: "image" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived" },
    onReady: (callback) => Promise.resolve().then(() => callback({ host: config.host })),
    context: {
      host: config.host,
      requirements: { isSetSupported: (set, version) => set in config.sets && versionAtLeast(config.sets[set], version) },
      ui: {
        // The dialog opens as a real window; its own double relays messageParent to the handler here.
        displayDialogAsync(url, options, callback) {
          calls.push({ call: "displayDialogAsync", url });
          const dialog = window.open(url, "office-dialog");
          callback({ status: "succeeded", value: {
            addEventHandler: (type, handler) => { window.__dialogHandler = handler; },
            close: () => dialog.close(),
          } });
        },
        messageParent: (message) => window.opener.__dialogHandler({ message }),
      },
      document: {
        setSelectedDataAsync(data, options, callback) {
          const problems = pictureProblems(data);
          if (options.coercionType !== "image") problems.push("not an image coercion");
          for (const key of ["imageLeft", "imageTop", "imageWidth", "imageHeight"]) {
            if (typeof options[key] !== "number" || !(options[key] >= 0) || options[key] > 5000) problems.push(`${key} not in points`);
          }
          calls.push({ call: "setSelectedDataAsync", data, options, problems });
          if (config.refuseInsert || problems.length) {
            callback({ status: "failed", error: { code: 2001, message: config.refuseInsert || problems.join(", ") } });
          } else {
            shapes.push({ id: `shape-${shapes.length + 1}`, type: "Image", name: "Picture", altTextTitle: "", altTextDescription: "",
                          left: options.imageLeft, top: options.imageTop, width: options.imageWidth, height: options.imageHeight });
            callback({ status: "succeeded" });
          }
        },
      },
    },
    auth: {
      getAccessToken: (options) => {
        calls.push({ call: "getAccessToken", options });
        return config.accessToken ? Promise.resolve(config.accessToken) : Promise.reject({ code: 13001 });
      },
    },
  };

  // Nested app authentication: Office's bridge that MSAL.js talks to (JSON messages, answered by requestId).
  // `config.nested` = {token, popupToken}: the token a silent request gets (none: interaction required), and
  // the one Office's own sign-in window gives.
  if (config.nested) {
    const listeners = [];
    const account = { homeAccountId: "user.tenant", environment: "login.microsoftonline.com", tenantId: "tenant",
                      username: "person@contoso.example", localAccountId: "user", name: "A Person" };
    const unsignedJwt = (claims) => ["{\"alg\":\"none\"}", JSON.stringify(claims)].map((part) => btoa(part).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")).join(".") + ".";
    const answer = (request, fields) => {
      const response = JSON.stringify({ messageType: "NestedAppAuthResponse", requestId: request.requestId, ...fields });
      setTimeout(() => listeners.forEach((listener) => listener(response)), 0);
    };
    const tokenFor = (request, accessToken) => answer(request, { success: true, account, token: {
      access_token: accessToken, expires_in: 3600, scope: request.tokenParams.scope,
      id_token: unsignedJwt({ oid: "user", tid: "tenant", preferred_username: account.username, aud: request.tokenParams.clientId }),
    } });
    window.nestedAppAuthBridge = {
      addEventListener: (type, listener) => listeners.push(listener),
      removeEventListener: () => {},
      postMessage(message) {
        const request = JSON.parse(message);
        calls.push({ call: `nestedAppAuth.${request.method}`, tokenParams: request.tokenParams });
        if (request.method === "GetInitContext") {
          answer(request, { success: true, initContext: { sdkName: "office-double", sdkVersion: "1.0", capabilities: { queryAccount: false } } });
        } else if (request.method === "GetToken" && config.nested.token) {
          tokenFor(request, config.nested.token);
        } else if (request.method === "GetTokenPopup" && config.nested.popupToken) {
          config.nested.token = config.nested.popupToken;  // signed in: later silent requests succeed
          tokenFor(request, config.nested.popupToken);
        } else {
          answer(request, { success: false, error: { status: "USER_INTERACTION_REQUIRED", code: "interaction_required", description: "Sign in first." } });
        }
      },
    };
  }

  const requireSet = (set, version) => Office.context.requirements.isSetSupported(set, version) || fail(`${set} ${version} is not supported`);

  window.PowerPoint = {
    run: async (batch) => {
      const context = {
        presentation: {
          pageSetup: { slideWidth: config.slideWidth || 960, slideHeight: config.slideHeight || 540,
                       load() { requireSet("PowerPointApi", "1.10"); } },
          getSelectedShapes: () => ({
            items: selected && shapes.includes(selected) ? [{
              ...selected,
              getImageAsBase64(options) {
                requireSet("PowerPointApi", "1.10");
                calls.push({ call: "getImageAsBase64", options });
                return { value: selected.base64 };
              },
            }] : [],
            load() { requireSet("PowerPointApi", "1.5"); },
          }),
          getSelectedSlides: () => ({
            getItemAt: () => ({
              shapes: {
                items: shapes,
                load() {},
                getItem: (id) => ({ delete() {
                  const index = shapes.findIndex((shape) => shape.id === id);
                  if (index < 0) fail(`no shape ${id}`);
                  calls.push({ call: "deleteShape", id });
                  shapes.splice(index, 1);
                } }),
              },
              background: { fill: { setPictureOrTextureFill(options) {
                requireSet("PowerPointApi", "1.10");
                pictureProblems(options.imageBase64).forEach(fail);
                // Office's typings make transparency (0-1) required; Office refuses the call without it.
                if (typeof options.transparency !== "number" || options.transparency < 0 || options.transparency > 1) {
                  fail("setPictureOrTextureFill needs a transparency from 0 to 1");
                }
                calls.push({ call: "setPictureOrTextureFill", data: options.imageBase64 });
              } } },
            }),
          }),
        },
        sync: async () => { calls.push({ call: "sync", shapes: JSON.parse(JSON.stringify(shapes)) }); },
      };
      return batch(context);
    },
  };

  window.Word = {
    run: async (batch) => {
      const pictures = [];
      const context = {
        document: {
          getSelection: () => ({
            insertInlinePictureFromBase64(data, location) {
              pictureProblems(data).forEach(fail);
              const picture = { data, location };
              pictures.push(picture);
              return picture;
            },
            inlinePictures: {
              items: selected ? [{
                width: selected.width, height: selected.height, altTextDescription: selected.altTextDescription,
                getBase64ImageSrc() { calls.push({ call: "getBase64ImageSrc" }); return { value: selected.base64 }; },
                insertInlinePictureFromBase64(data, location) {
                  pictureProblems(data).forEach(fail);
                  if (!["Replace", "Before", "After"].includes(location)) fail(`bad location ${location}`);
                  const picture = { data, location, from: "selected picture" };
                  pictures.push(picture);
                  return picture;
                },
              }] : [],
              load() {},
            },
          }),
        },
        sync: async () => {
          for (const picture of pictures) calls.push({ call: "insertInlinePictureFromBase64", ...picture });
          pictures.length = 0;
        },
      };
      return batch(context);
    },
  };
})();
