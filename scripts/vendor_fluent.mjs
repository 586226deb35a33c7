// Copies Fluent UI's web components (the self-contained bundle) and its light and dark themes from the pinned
// npm packages into the pane's vendor folder, with their licence. Run after changing their versions in
// package.json:  npm ci && node scripts/vendor_fluent.mjs [OUTPUT_FOLDER]
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { webDarkTheme, webLightTheme } from "@fluentui/tokens";

const require = createRequire(import.meta.url);
const output = process.argv[2] || "addin_server/taskpane/static/vendor";
const version = (name) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
const componentsFolder = dirname(require.resolve("@fluentui/web-components/package.json"));
const tokensFolder = dirname(require.resolve("@fluentui/tokens/package.json"));

mkdirSync(output, { recursive: true });
copyFileSync(join(componentsFolder, "dist/web-components-all.min.js"), join(output, "fluent-web-components.min.js"));
copyFileSync(join(tokensFolder, "LICENSE"), join(output, "fluent.LICENSE"));
writeFileSync(
  join(output, "fluent-themes.js"),
  `// @fluentui/tokens ${version("@fluentui/tokens")} (MIT, see fluent.LICENSE): the web light and dark themes, ` +
    `written by scripts/vendor_fluent.mjs.\n` +
    `export const webLightTheme = ${JSON.stringify(webLightTheme)};\n` +
    `export const webDarkTheme = ${JSON.stringify(webDarkTheme)};\n`,
);
writeFileSync(
  join(output, "fluent-web-components.VERSION"),
  `@fluentui/web-components ${version("@fluentui/web-components")} dist/web-components-all.min.js (MIT, see fluent.LICENSE)\n`,
);
console.log(`vendored Fluent UI web components ${version("@fluentui/web-components")} into ${output}`);
