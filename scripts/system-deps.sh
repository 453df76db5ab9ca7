#!/usr/bin/env bash
# Make sure a headless OpenGL library is present for MuJoCo rendering:
# EGL via Mesa (preferred) and OSMesa (fallback). Installs the missing Debian
# packages with apt-get when run as root; otherwise prints what to install.
set -euo pipefail

have() { ldconfig -p 2>/dev/null | grep -q "$1"; }

missing=()
have 'libEGL.so.1' || missing+=(libegl1)
have 'libGL.so.1' || missing+=(libgl1)
ldconfig -p 2>/dev/null | grep -q 'swrast_dri\|libgallium' || [ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || missing+=(libgl1-mesa-dri)
have 'libOSMesa.so' || missing+=(libosmesa6)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: EGL and OSMesa present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${missing[*]}; install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})" >&2
  # Fatal only when neither backend can work.
  if ! have 'libEGL.so.1' && ! have 'libOSMesa.so'; then exit 1; fi
  exit 0
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "system-deps: apt-get failed for ${missing[*]}" >&2
  if ! have 'libEGL.so.1' && ! have 'libOSMesa.so'; then exit 1; fi
fi
