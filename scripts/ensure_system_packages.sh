#!/usr/bin/env bash
# What the tests need from Debian beyond pip: Chromium for the browser tests (Playwright's own browser
# download is not used) and the Noto Color Emoji font (domain B of the emoji CycleGAN data). The app itself
# needs neither.
set -euo pipefail
need=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
if [ -z "${GENLAB_NOTO_FONT:-}" ] && [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
  need+=(fonts-noto-color-emoji)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "The tests need Debian's package(s): ${need[*]}; install them (apt-get install ${need[*]})." >&2
  exit 1
fi
