// A stand-in for Office.js in the browser tests: the globals the task pane uses, checking calls the way
// Office does and its typings (@types/office-js) say: required options, known option names, coercion types,
// raw base64, sizes in points, API sets, properties read only after load() and sync(). Each call is recorded
// in window.__officeCalls; a refused one throws (or fails its callback) with Office's kind of message.
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
  // Only the option names Office's typings declare; anything else is a typo Office would silently ignore.
  const onlyKnown = (what, options, known) => {
    if (typeof options !== "object" || options === null) fail(`${what}: options must be an object`);
    for (const key of Object.keys(options)) if (!known.includes(key)) fail(`${what}: unknown option ${key}`);
  };
  const needsFunction = (what, callback) => typeof callback === "function" || fail(`${what}: a callback is required`);
  const isText = (value) => typeof value === "string";
  const isPoints = (value) => typeof value === "number" && Number.isFinite(value) && value > 0 && value <= 5000;
  // A proxy's properties, like Office's: readable only once load() named them and a sync() followed.
  let syncs = 0;
  const loadable = (what, values, names = Object.keys(values)) => {
    const loaded = { at: -1 };
    const target = { load() { loaded.at = syncs; return target; } };
    for (const name of names) {
      Object.defineProperty(target, name, { enumerable: true, get() {
        if (loaded.at < 0 || loaded.at >= syncs) fail(`PropertyNotLoaded: ${what}.${name} is not available; call load() and sync() first`);
        return values[name];
      } });
    }
    return target;
  };
  // What context.sync() checks on the proxies the pane changed: the types the typings give their properties.
  const written = [];
  const checkWritten = () => {
    for (const { what, object } of written) {
      for (const key of ["name", "altTextTitle", "altTextDescription"]) if (key in object && !isText(object[key])) fail(`${what}.${key} must be a string`);
      for (const key of ["width", "height"]) if (key in object && !isPoints(object[key])) fail(`${what}.${key} must be points (0-5000)`);
      if ("lockAspectRatio" in object && typeof object.lockAspectRatio !== "boolean") fail(`${what}.lockAspectRatio must be a boolean`);
    }
    written.length = 0;
  };
  const sync = (record) => async () => { const changed = [...written]; checkWritten(); syncs += 1; record(changed); };
  // `config.selected` = {base64, left, top, width, height, altText}: the picture the person has selected.
  const selected = config.selected ? { id: "selected-picture", type: "Image", name: "Picture 1", ...config.selected,
                                       altTextDescription: config.selected.altText || "" } : null;
  if (selected && config.host === "PowerPoint") shapes.push(selected);

  window.Office = {
    HostType: { PowerPoint: "PowerPoint", Word: "Word" },
    CoercionType: { Image: "image" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived", OfficeThemeChanged: "officeThemeChanged" },
    onReady: (callback) => Promise.resolve().then(() => callback({ host: config.host })),
    context: {
      host: config.host,
      displayLanguage: config.language || "en-US",
      // `config.theme` = "dark" or "light" (default): the colours Office gives its add-ins in that theme.
      officeTheme: config.theme === "dark"
        ? { bodyBackgroundColor: "#1f1f1f", bodyForegroundColor: "#ffffff", controlBackgroundColor: "#292929", controlForegroundColor: "#ffffff", isDarkTheme: true }
        : { bodyBackgroundColor: "#ffffff", bodyForegroundColor: "#000000", controlBackgroundColor: "#ffffff", controlForegroundColor: "#000000", isDarkTheme: false },
      requirements: { isSetSupported: (set, version) => set in config.sets && versionAtLeast(config.sets[set], version) },
      ui: {
        // The dialog opens as a real window; its own double relays messageParent to the handler here.
        displayDialogAsync(url, options, callback) {
          onlyKnown("displayDialogAsync", options, ["height", "width", "displayInIframe", "promptBeforeOpen", "asyncContext"]);
          for (const key of ["height", "width"]) if (key in options && !(options[key] > 0 && options[key] <= 100)) fail(`displayDialogAsync: ${key} is a percentage of the screen`);
          needsFunction("displayDialogAsync", callback);
          if (new URL(url).origin !== location.origin) fail("displayDialogAsync: the dialog must open on the add-in's own domain");
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
        addHandlerAsync(type, handler) {
          if (type !== "officeThemeChanged") fail(`addHandlerAsync: no event ${type} here`);
          needsFunction("addHandlerAsync", handler);
          window.__officeThemeHandler = handler;
        },
        setSelectedDataAsync(data, options, callback) {
          onlyKnown("setSelectedDataAsync", options, ["coercionType", "imageLeft", "imageTop", "imageWidth", "imageHeight", "asyncContext", "tableOptions", "cellFormat"]);
          needsFunction("setSelectedDataAsync", callback);
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
        onlyKnown("getAccessToken", options, ["allowSignInPrompt", "allowConsentPrompt", "forMSGraphAccess", "asyncContext"]);
        for (const [key, value] of Object.entries(options)) if (key !== "asyncContext" && typeof value !== "boolean") fail(`getAccessToken: ${key} must be a boolean`);
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
      const setup = { slideWidth: config.slideWidth || 960, slideHeight: config.slideHeight || 540 };
      const pageSetup = loadable("pageSetup", setup);
      const loadPageSetup = pageSetup.load;
      pageSetup.load = (names) => { requireSet("PowerPointApi", "1.10"); return loadPageSetup(names); };
      const shapeProxy = (shape) => {
        const proxy = { ...shape };
        written.push({ what: "Shape", object: proxy });
        return proxy;
      };
      const context = {
        presentation: {
          pageSetup,
          getSelectedShapes: () => {
            const chosen = selected && shapes.includes(selected) ? [{
              ...selected,
              getImageAsBase64(options = {}) {
                requireSet("PowerPointApi", "1.10");
                onlyKnown("getImageAsBase64", options, ["format", "width", "height"]);
                if ("format" in options && options.format !== "Png") fail(`getImageAsBase64: format ${options.format} is not a ShapeGetImageFormatType`);
                calls.push({ call: "getImageAsBase64", options });
                return loadable("ClientResult", { value: selected.base64 }).load();
              },
            }] : [];
            const collection = loadable("ShapeCollection", { items: chosen });
            const load = collection.load;
            collection.load = (names) => { requireSet("PowerPointApi", "1.5"); return load(names); };
            return collection;
          },
          getSelectedSlides: () => ({
            getItemAt: () => {
              let proxies = null;  // one proxy per shape for this batch, made when first read
              const collection = loadable("ShapeCollection", { get items() { return (proxies ??= shapes.map(shapeProxy)); } }, ["items"]);
              collection.getItem = (id) => ({ delete() {
                if (!isText(id)) fail("ShapeCollection.getItem needs a shape id");
                const index = shapes.findIndex((shape) => shape.id === id);
                if (index < 0) fail(`ItemNotFound: no shape ${id}`);
                calls.push({ call: "deleteShape", id });
                shapes.splice(index, 1);
              } });
              return {
                shapes: collection,
                background: { fill: { setPictureOrTextureFill(options) {
                  requireSet("PowerPointApi", "1.10");
                  onlyKnown("setPictureOrTextureFill", options, ["imageBase64", "transparency"]);
                  pictureProblems(options.imageBase64).forEach(fail);
                  // Office's typings make transparency (0-1) required; Office refuses the call without it.
                  if (typeof options.transparency !== "number" || options.transparency < 0 || options.transparency > 1) {
                    fail("setPictureOrTextureFill needs a transparency from 0 to 1");
                  }
                  calls.push({ call: "setPictureOrTextureFill", data: options.imageBase64 });
                } } },
              };
            },
          }),
        },
        sync: sync((changed) => {
          // A changed shape proxy writes back to the slide's shape of the same id.
          for (const shape of shapes) {
            const change = changed.find(({ object }) => object.id === shape.id);
            if (!change) continue;
            for (const key of ["name", "altTextTitle", "altTextDescription"]) if (key in change.object) shape[key] = change.object[key];
          }
          calls.push({ call: "sync", shapes: JSON.parse(JSON.stringify(shapes)) });
        }),
      };
      return batch(context);
    },
  };

  window.Word = {
    run: async (batch) => {
      const pictures = [];
      const insertedPicture = (data, location, extra = {}) => {
        pictureProblems(data).forEach(fail);
        const picture = { data, location, ...extra };
        pictures.push(picture);
        written.push({ what: "InlinePicture", object: picture });
        return picture;
      };
      const context = {
        document: {
          getSelection: () => ({
            insertInlinePictureFromBase64(data, location) {
              if (!["Replace", "Start", "End", "Before", "After"].includes(location)) fail(`InvalidArgument: insertLocation ${location}`);
              return insertedPicture(data, location);
            },
            inlinePictures: loadable("InlinePictureCollection", { items: selected ? [{
              width: selected.width, height: selected.height, altTextDescription: selected.altTextDescription,
              getBase64ImageSrc() { calls.push({ call: "getBase64ImageSrc" }); return loadable("ClientResult", { value: selected.base64 }).load(); },
              insertInlinePictureFromBase64(data, location) {
                if (!["Replace", "Before", "After"].includes(location)) fail(`InvalidArgument: insertLocation ${location}`);
                return insertedPicture(data, location, { from: "selected picture" });
              },
            }] : [] }),
          }),
        },
        sync: sync(() => {
          for (const picture of pictures) calls.push({ call: "insertInlinePictureFromBase64", ...picture });
          pictures.length = 0;
        }),
      };
      return batch(context);
    },
  };
})();
