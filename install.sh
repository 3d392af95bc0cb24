#!/usr/bin/env bash
# Install printstation.
#   ./install.sh            a station appliance (system packages, user, venv in /opt, units)
#   ./install.sh --hub      a hub
#   ./install.sh --dev      a development checkout: .venv/ here, with test tools
# Idempotent: running it again changes nothing that is already in place, and it never
# overwrites an existing configuration.
set -euo pipefail

MODE="${PRINTSTATION_MODE:-station}"
PREFIX="${PRINTSTATION_PREFIX:-/opt/printstation}"
CONF_DIR="${PRINTSTATION_CONF_DIR:-/etc/printstation}"
DATA_DIR="${PRINTSTATION_DATA_DIR:-/var/lib/printstation}"
SERVICE_USER="${PRINTSTATION_USER:-printstation}"
PYTHON="${PYTHON:-python3}"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case "$arg" in
    --hub) MODE=hub ;;
    --dev) MODE=dev ;;
    --station) MODE=station ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Step 1: system packages, installed only when missing.
step1_packages() {
  local wanted=(python3 python3-venv python3-dev mosquitto libzbar0 fonts-wqy-microhei)
  case "$MODE" in
    dev) wanted+=(chromium shellcheck systemd) ;;
    station) wanted+=(chromium) ;;
    hub) ;;
  esac
  local missing=()
  local pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "1. system packages: all present"
    return
  fi
  log "1. system packages: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Step 2: the Python environment with the package and its extras.
step2_venv() {
  local venv="$1" extras="$2"
  if [ ! -x "$venv/bin/python" ]; then
    log "2. creating virtual environment $venv"
    "$PYTHON" -m venv "$venv"
  else
    log "2. virtual environment $venv exists"
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$MODE" = dev ]; then
    "$venv/bin/python" -m pip install -q -e "${SRC_DIR}[${extras}]"
  else
    "$venv/bin/python" -m pip install -q "${SRC_DIR}[${extras}]"
  fi
}

# Step 3 (appliance): service user and directories.
step3_user() {
  log "3. user $SERVICE_USER and directories"
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    as_root useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  local group
  for group in lp input dialout video; do
    if getent group "$group" >/dev/null; then as_root usermod -a -G "$group" "$SERVICE_USER"; fi
  done
  as_root install -d -m 0755 "$CONF_DIR"
  as_root install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
}

# Step 4 (appliance): configuration templates, only where absent.
step4_config() {
  local name="$1"
  local target="$CONF_DIR/$name.toml"
  if [ -e "$target" ]; then
    log "4. $target exists; left as it is"
    return
  fi
  log "4. writing $target (edit it, then run: printstation check-config $target)"
  as_root install -m 0640 -g "$SERVICE_USER" "$SRC_DIR/firmware_config/examples/$name.toml" "$target"
}

# Step 5 (appliance): systemd units.
step5_units() {
  local units=()
  if [ -d "$SRC_DIR/systemd" ]; then
    mapfile -t units < <(find "$SRC_DIR/systemd" -maxdepth 1 -name 'printstation*' -type f)
  fi
  if [ "${#units[@]}" -eq 0 ] || ! command -v systemctl >/dev/null; then
    log "5. systemd units: none to install here"
    return
  fi
  log "5. systemd units"
  as_root install -m 0644 "${units[@]}" /etc/systemd/system/
  if [ -d /run/systemd/system ]; then as_root systemctl daemon-reload; fi
}

main() {
  case "$MODE" in
    dev)
      step1_packages
      step2_venv "$SRC_DIR/.venv" dev
      log "done: run the tests with .venv/bin/pytest, the demo with .venv/bin/printstation demo"
      ;;
    station|hub)
      step1_packages
      if [ "$MODE" = hub ]; then step2_venv "$PREFIX" hub; else step2_venv "$PREFIX" hardware; fi
      step3_user
      step4_config "$MODE"
      step5_units
      as_root ln -sf "$PREFIX/bin/printstation" /usr/local/bin/printstation
      log "done: edit $CONF_DIR/$MODE.toml, check it with 'printstation check-config', then start printstation.target"
      ;;
  esac
}

main
