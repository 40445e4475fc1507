#!/usr/bin/env bash
# Builds dist/Praxis-<version>.pkg on macOS from the PyInstaller bundle dist/Praxis.app:
# Praxis.app in /Applications and a LaunchAgent in /Library/LaunchAgents, for every user.
#
# Run from the repository root, after `pyinstaller build.spec`:
#   bash installers/macos/build-pkg.sh
#
# Signing and notarization happen when these are set (unsigned otherwise, for testing):
#   APP_SIGN_IDENTITY      "Developer ID Application: Example Corp (TEAMID)"
#   PKG_SIGN_IDENTITY      "Developer ID Installer: Example Corp (TEAMID)"
#   NOTARY_PROFILE         a profile stored with `xcrun notarytool store-credentials`
#                          (Apple ID + app-specific password, or an App Store Connect API key)
set -euo pipefail

if [ ! -f build.spec ] || [ ! -d installers/macos ]; then
  echo "Run this from the repository root: bash installers/macos/build-pkg.sh" >&2
  exit 2
fi
APP=dist/Praxis.app
if [ ! -x "$APP/Contents/MacOS/praxis" ]; then
  echo "$APP is missing: build it first with  pyinstaller --noconfirm build.spec" >&2
  exit 1
fi
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)
HERE=installers/macos
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. Sign every binary inside the app, then the app, with the hardened runtime that notarization
#    requires. --deep is not used: it signs in the wrong order and skips the entitlements.
if [ -n "${APP_SIGN_IDENTITY:-}" ]; then
  find "$APP/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0 |
    xargs -0 codesign --force --timestamp --options runtime \
      --entitlements "$HERE/entitlements.plist" --sign "$APP_SIGN_IDENTITY"
  codesign --force --timestamp --options runtime \
    --entitlements "$HERE/entitlements.plist" --sign "$APP_SIGN_IDENTITY" "$APP"
  codesign --verify --strict --verbose=2 "$APP"
fi

# 2. The payload as it lands on disk, and the component package around it.
mkdir -p "$WORK/root/Applications" "$WORK/root/Library/LaunchAgents"
ditto "$APP" "$WORK/root/Applications/Praxis.app"
cp "$HERE/com.praxis.recorder.plist" "$WORK/root/Library/LaunchAgents/"
pkgbuild --root "$WORK/root" \
  --scripts "$HERE/scripts" \
  --identifier com.praxis.recorder \
  --version "$VERSION" \
  --install-location / \
  "$WORK/praxis-component.pkg"

# 3. The product archive: silent (no choices), signed with the installer identity.
mkdir -p dist
SIGN_ARGS=()
if [ -n "${PKG_SIGN_IDENTITY:-}" ]; then
  SIGN_ARGS=(--sign "$PKG_SIGN_IDENTITY" --timestamp)
fi
productbuild --distribution "$HERE/distribution.xml" \
  --package-path "$WORK" \
  "${SIGN_ARGS[@]}" \
  "dist/Praxis-$VERSION.pkg"

# 4. Notarize and staple, so Gatekeeper accepts the package offline.
if [ -n "${NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "dist/Praxis-$VERSION.pkg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "dist/Praxis-$VERSION.pkg"
  spctl --assess --type install --verbose "dist/Praxis-$VERSION.pkg"
fi
echo "dist/Praxis-$VERSION.pkg"
