#!/bin/sh
# Removes Praxis from this Mac (run as root, e.g. from an MDM script). Every person's recordings
# in ~/Library/Application Support/Praxis stay unless --remove-user-data is given.
#   sudo sh uninstall.sh [--remove-user-data]
set -eu
AGENT=/Library/LaunchAgents/com.praxis.recorder.plist

# Stop the tray app in every logged-in person's session.
for uid in $(ps -axo uid=,comm= | awk '/Praxis.app\/Contents\/MacOS\/praxis$/ {print $1}' | sort -u); do
  launchctl bootout "gui/$uid" "$AGENT" 2>/dev/null || true
done
rm -f "$AGENT"
rm -rf /Applications/Praxis.app
pkgutil --forget com.praxis.recorder >/dev/null 2>&1 || true

if [ "${1:-}" = "--remove-user-data" ]; then
  for home in /Users/*; do
    rm -rf "$home/Library/Application Support/Praxis"
  done
fi
