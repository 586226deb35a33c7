#!/usr/bin/env bash
# Install what the tests need and run them. README's test command and .ci/run both call this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# LibreOffice is the second reader that renders generated .pptx/.docx files to check them; Redis holds
# rate-limit counts shared between server processes; Chromium runs the task pane (Playwright drives it, no
# browser download); Node.js and npm install the front end's pinned checkers. All come from Debian's packages.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-impress libreoffice-writer)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# torch==2.13.0 is the CPU build; pip's default would fetch a multi-GB CUDA build.
python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0 -e ".[test,training]"

# The front end's checks (TypeScript against Office's and Teams' typings, axe-core, the pinned Fluent UI) and
# Microsoft's Agents Toolkit CLI (it validates the app package offline), at the versions package-lock.json pins.
# No build step: the browser loads the same files. No install scripts: the CLI's optional keychain module would
# compile native code that validation never uses.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# Lint, format and types first: a finding fails the run before the slow tests start.
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
node_modules/.bin/tsc --noEmit -p tsconfig.json

export HF_HUB_OFFLINE=1
python3 -m pytest "$@"
