# scripts/deps.sh — sourced by scripts/run, scripts/test and scripts/bench.
# shellcheck shell=bash
# EnsurePackages PKG...: installs the Debian packages that are missing, and nothing else.
# A dpkg status check keeps the common case (everything present) fast and offline;
# `apt-get update` runs only when something is missing.

EnsurePackages() {
  local missing=() pkg
  for pkg in "$@"; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "==> installing missing packages: ${missing[*]}" >&2
  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "error: missing packages (${missing[*]}) and not root; install them first" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The packages needed to build and run the server (used by the scripts that source this).
# shellcheck disable=SC2034
BUILD_PACKAGES=(meson ninja-build pkg-config g++ libuv1-dev libhiredis-dev libcli11-dev doctest-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev liblua5.1-0-dev lua-cjson)

# SetupBuild DIR [MESON_OPTION...]: configures DIR with the given options, creating it when
# needed. Compiler choice comes from CC/CXX and is fixed when DIR is first set up.
SetupBuild() {
  local dir=$1
  shift
  if [[ -f $dir/build.ninja && -f $dir/meson-private/coredata.dat ]]; then
    meson configure "$dir" "$@" >/dev/null
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}
