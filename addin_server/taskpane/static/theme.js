// @ts-check
// The Fluent 2 look: Fluent UI's web components, with their light or dark theme chosen from the host's theme
// (Office.context.officeTheme, or Teams' theme), and again whenever the host changes it. Windows high contrast
// needs nothing here: the components and taskpane.css follow `forced-colors` themselves.
import { webDarkTheme, webLightTheme } from "./vendor/fluent-themes.js";

// Loaded by URL, so the type check does not read the vendored bundle.
const FLUENT = new URL("./vendor/fluent-web-components.min.js", import.meta.url).href;

/** @type {Promise<{ setTheme: (theme: object) => void }> | null} */
let fluent = null;

/** Load the components (they define themselves) and apply the light or dark theme. @param {boolean} dark */
export async function useTheme(dark) {
  fluent ??= import(FLUENT);
  (await fluent).setTheme(dark ? webDarkTheme : webLightTheme);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

/**
 * Whether Office shows a dark theme: its own flag where the host has it, else a dark body background.
 * @param {{ isDarkTheme?: boolean, bodyBackgroundColor?: string } | undefined} theme
 */
export function isDarkOfficeTheme(theme) {
  if (!theme) return window.matchMedia("(prefers-color-scheme: dark)").matches;
  if (typeof theme.isDarkTheme === "boolean") return theme.isDarkTheme;
  return luminance(theme.bodyBackgroundColor || "#ffffff") < 0.5;
}

/** Relative luminance (0–1) of a #rrggbb colour. @param {string} hex */
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
