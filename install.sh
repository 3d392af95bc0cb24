#!/usr/bin/env bash
# Install printstation.
#   ./install.sh              a station appliance (packages, users, venv in /opt, udev, units)
#   ./install.sh --hub        a hub (packages, user, venv in /opt, broker config, units)
#   ./install.sh --dev        a development checkout: .venv/ here, with the test tools
#   ./install.sh --uninstall  remove the units, rules, venv and command (config and data stay)
# Idempotent: running it again changes nothing that is already in place, and it never
# overwrites an existing configuration. PRINTSTATION_ROOT=DIR installs into DIR instead of /
# (an image being built, or a test); apt is then left to the image and nothing is started.
set -euo pipefail

MODE="${PRINTSTATION_MODE:-station}"
ROOT="${PRINTSTATION_ROOT:-}"
ROOT="${ROOT%/}"
PREFIX="${PRINTSTATION_PREFIX:-/opt/printstation}"
CONF_DIR="${PRINTSTATION_CONF_DIR:-/etc/printstation}"
DATA_DIR="${PRINTSTATION_DATA_DIR:-/var/lib/printstation}"
SERVICE_USER="${PRINTSTATION_USER:-printstation}"
KIOSK_USER="${SERVICE_USER}-kiosk"
HUB_USER="${SERVICE_USER}-hub"
HUB_DATA_DIR="${PRINTSTATION_HUB_DATA_DIR:-/var/lib/printstation-hub}"
INGEST_WORKERS="${PRINTSTATION_INGEST_WORKERS:-2}"
PYTHON="${PYTHON:-python3}"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UNIT_DIR="$ROOT/etc/systemd/system"
CHANGED=0

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case "$arg" in
    --hub) MODE=hub ;;
    --dev) MODE=dev ;;
    --station) MODE=station ;;
    --uninstall) MODE=uninstall ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "unknown option: $arg" >&2
      usage >&2
      exit 2
      ;;
  esac
done

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Copy a file only when its content or mode differs (install -C leaves it untouched then).
put() {
  local mode="$1" src="$2" dst="$3"
  if [ -f "$dst" ] && cmp -s "$src" "$dst" && [ "$(stat -c %a "$dst")" = "${mode#0}" ]; then
    return 0
  fi
  as_root install -D -m "$mode" "$src" "$dst"
  note "wrote ${dst#"$ROOT"}"
  CHANGED=1
}

# Numeric ids from the target system's files (the host's, or those under ROOT).
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$ROOT/etc/passwd"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$ROOT/etc/group"; }

# A directory with an owner (user:group), created or corrected only when needed.
dir() {
  local mode="$1" owner="$2" path="$3" uid gid
  uid="$(uid_of "${owner%%:*}")"
  gid="$(gid_of "${owner##*:}")"
  if [ -d "$path" ] && [ "$(stat -c '%a %u:%g' "$path")" = "${mode#0} $uid:$gid" ]; then
    return 0
  fi
  as_root install -d -m "$mode" -o "$uid" -g "$gid" "$path"
  CHANGED=1
}

# Step 1: system packages, installed only when missing.
step1_packages() {
  local wanted=(python3 python3-venv python3-dev mosquitto mosquitto-clients)
  case "$MODE" in
    dev) wanted+=(libzbar0 fonts-wqy-microhei chromium shellcheck systemd libusb-1.0-0 faketime) ;;
    station) wanted+=(libzbar0 fonts-wqy-microhei libusb-1.0-0 chromium cage sqlite3) ;;
    hub) wanted+=(sqlite3) ;;
  esac
  if [ -n "$ROOT" ]; then
    log "1. system packages: not installed into $ROOT (the image needs: ${wanted[*]})"
    return
  fi
  local missing=() pkg
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
  CHANGED=1
}

# What the venv was built from: the package's sources and metadata, and the extras.
source_stamp() {
  local extras="$1"
  (
    cd "$SRC_DIR"
    echo "extras=$extras"
    if [ "$MODE" = dev ]; then
      sha256sum pyproject.toml
    else
      find edge cloud pyproject.toml README.md -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
        -print0 | sort -z | xargs -0 sha256sum
    fi
  ) | sha256sum | cut -d' ' -f1
}

# Step 2: the Python environment with the package and its extras (skipped when unchanged).
step2_venv() {
  local venv="$1" extras="$2" stamp
  # A development venv belongs to the developer; an appliance's to root.
  local run=as_root
  if [ "$MODE" = dev ]; then run="env"; fi
  if [ ! -x "$venv/bin/python" ]; then
    log "2. creating virtual environment ${venv#"$ROOT"}"
    "$run" "$PYTHON" -m venv "$venv"
    CHANGED=1
  fi
  stamp="$(source_stamp "$extras")"
  if [ -f "$venv/.printstation-stamp" ] && [ "$(cat "$venv/.printstation-stamp")" = "$stamp" ]; then
    log "2. virtual environment ${venv#"$ROOT"}: up to date"
    return
  fi
  log "2. installing printstation[$extras] into ${venv#"$ROOT"}"
  "$run" "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$MODE" = dev ]; then
    "$venv/bin/python" -m pip install -q -e "${SRC_DIR}[${extras}]"
  else
    # Build from a copy, so the checkout gets no build/ or egg-info directories.
    local tmp
    tmp="$(mktemp -d)"
    cp -r "$SRC_DIR/pyproject.toml" "$SRC_DIR/README.md" "$SRC_DIR/edge" "$SRC_DIR/cloud" "$tmp/"
    find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
    as_root "$venv/bin/python" -m pip install -q "${tmp}[${extras}]"
    rm -rf "$tmp"
  fi
  echo "$stamp" | "$run" tee "$venv/.printstation-stamp" >/dev/null
  CHANGED=1
}

# The group names in the target system (the host's, or those under ROOT).
has_group() { grep -q "^$1:" "$ROOT/etc/group"; }
has_user() { grep -q "^$1:" "$ROOT/etc/passwd"; }
in_group() { grep -q "^$2:.*[:,]$1\(,\|$\)" "$ROOT/etc/group"; }
root_opt() { if [ -n "$ROOT" ]; then echo "--root=$ROOT"; fi; }

# A system user with its own group, added to the groups given (when they exist).
ensure_user() {
  local user="$1" home="$2" group
  shift 2
  if ! has_user "$user"; then
    # shellcheck disable=SC2046 # root_opt is empty or one word
    as_root useradd $(root_opt) --system --user-group --home-dir "$home" --no-create-home \
      --shell /usr/sbin/nologin "$user"
    note "user $user created"
    CHANGED=1
  fi
  for group in "$@"; do
    if has_group "$group" && ! in_group "$user" "$group"; then
      # shellcheck disable=SC2046
      as_root usermod $(root_opt) -a -G "$group" "$user"
      note "$user added to group $group"
      CHANGED=1
    fi
  done
}

# Step 3: service users and directories.
step3_users() {
  if [ "$MODE" = hub ]; then
    log "3. user $HUB_USER and directories"
    # In the mosquitto group: pairing adds stations to the broker's password file.
    ensure_user "$HUB_USER" "$HUB_DATA_DIR" mosquitto
    dir 0755 root:root "$ROOT$CONF_DIR"
    dir 0750 "$HUB_USER:$HUB_USER" "$ROOT$HUB_DATA_DIR"
    return
  fi
  log "3. users $SERVICE_USER, $KIOSK_USER and directories"
  ensure_user "$SERVICE_USER" "$DATA_DIR" lp input dialout video
  ensure_user "$KIOSK_USER" /var/lib/printstation-kiosk video input render
  dir 0755 root:root "$ROOT$CONF_DIR"
  # Files here reach the services as systemd credentials (LoadCredential=).
  dir 0700 root:root "$ROOT$CONF_DIR/credentials"
  dir 0750 "$SERVICE_USER:$SERVICE_USER" "$ROOT$DATA_DIR"
}

# Step 4: the configuration template, only where there is none.
step4_config() {
  local name="$1" group="$2"
  local target="$ROOT$CONF_DIR/$name.toml"
  if [ -e "$target" ]; then
    log "4. ${target#"$ROOT"} exists; left as it is"
    return
  fi
  log "4. writing ${target#"$ROOT"} from the example"
  as_root install -m 0640 -o 0 -g "$(gid_of "$group")" \
    "$SRC_DIR/firmware_config/examples/$name.toml" "$target"
  CHANGED=1
}

# Step 5: device rules, system settings and the helpers the units run.
step5_system() {
  local fw="$SRC_DIR/firmware_config"
  if [ "$MODE" = station ]; then
    log "5. udev rules, journald limits, watchdog, kiosk launcher"
  else
    log "5. broker configuration, add-station.sh"
  fi
  put 0644 "$SRC_DIR/docs/appliance.md" "$ROOT$PREFIX/share/doc/appliance.md"
  if [ "$MODE" = station ]; then
    put 0755 "$fw/kiosk/kiosk-browser" "$ROOT$PREFIX/libexec/kiosk-browser"
    put 0644 "$fw/udev/60-printstation.rules" "$ROOT/etc/udev/rules.d/60-printstation.rules"
    put 0644 "$fw/journald/printstation.conf" "$ROOT/etc/systemd/journald.conf.d/printstation.conf"
    put 0644 "$fw/boot/system.conf" "$ROOT/etc/systemd/system.conf.d/printstation.conf"
    if [ -z "$ROOT" ] && command -v udevadm >/dev/null && [ -d /run/udev ]; then
      as_root udevadm control --reload
      as_root udevadm trigger --action=change --subsystem-match=usb --subsystem-match=usbmisc \
        --subsystem-match=input --subsystem-match=tty --subsystem-match=video4linux
    fi
  else
    local broker="$ROOT/etc/mosquitto/printstation"
    if [ ! -e "$broker/hub.conf" ]; then put 0644 "$fw/mosquitto/hub.conf" "$broker/hub.conf"; fi
    if [ ! -e "$broker/acl" ]; then put 0644 "$fw/mosquitto/acl" "$broker/acl"; fi
    # The broker's password file: add-station.sh and the hub's pairing add users to it.
    if [ ! -e "$broker/passwd" ] && has_group mosquitto; then
      as_root install -m 0660 -o 0 -g "$(gid_of mosquitto)" /dev/null "$broker/passwd"
      CHANGED=1
    fi
    put 0644 "$fw/mosquitto/mosquitto.service.d/printstation.conf" \
      "$UNIT_DIR/mosquitto.service.d/printstation.conf"
    put 0755 "$fw/mosquitto/add-station.sh" "$ROOT$PREFIX/libexec/add-station.sh"
  fi
  if [ ! -L "$ROOT/usr/local/bin/printstation" ]; then
    as_root install -d "$ROOT/usr/local/bin"
    as_root ln -s "$PREFIX/bin/printstation" "$ROOT/usr/local/bin/printstation"
    CHANGED=1
  fi
}

units_for_mode() {
  if [ "$MODE" = hub ]; then
    find "$SRC_DIR/systemd" -maxdepth 1 -type f -name 'printstation-hub*'
  else
    find "$SRC_DIR/systemd" -maxdepth 1 -type f -name 'printstation*' ! -name 'printstation-hub*'
  fi
}

# Step 6: systemd units, installed and enabled (started by the operator, see the summary).
step6_units() {
  log "6. systemd units"
  local unit units=()
  mapfile -t units < <(units_for_mode | sort)
  for unit in "${units[@]}"; do
    put 0644 "$unit" "$UNIT_DIR/$(basename "$unit")"
  done
  if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && [ "$CHANGED" -eq 1 ]; then
    as_root systemctl daemon-reload
  fi
  local enable=()
  if [ "$MODE" = hub ]; then
    enable=(printstation-hub.target printstation-hub-web.service printstation-hub-broker-reload.path)
    local i
    for ((i = 1; i <= INGEST_WORKERS; i++)); do enable+=("printstation-hub-ingest@$i.service"); done
  else
    enable=(printstation.target printstation-kiosk.service printstation-scanner.service
      printstation-spooler.service printstation-sync.service printstation-browser.service)
  fi
  local name missing=()
  for name in "${enable[@]}"; do
    # shellcheck disable=SC2046
    if ! systemctl $(root_opt) is-enabled --quiet "$name" 2>/dev/null; then missing+=("$name"); fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    # shellcheck disable=SC2046
    as_root systemctl $(root_opt) enable --quiet "${missing[@]}"
    note "enabled ${missing[*]}"
    CHANGED=1
  fi
}

summary() {
  local what="$1"
  if [ "$CHANGED" -eq 0 ]; then
    log "done: nothing changed (already installed)"
  else
    log "done"
  fi
  if [ "$what" = hub ]; then
    cat <<EOF
Next:
  1. edit $CONF_DIR/hub.toml ([hub] database, [mqtt] password_file) and check it:
       printstation check-config $CONF_DIR/hub.toml
  2. broker: certificates with firmware_config/mosquitto/make-certs.sh, the hub's own MQTT
     user with $PREFIX/libexec/add-station.sh -H hub, its password readable by the hub:
       install -m 0640 -g $HUB_USER SECRET $CONF_DIR/mqtt-password
     then: systemctl restart mosquitto
  3. start it:  systemctl start printstation-hub.target
  4. check it:  systemctl status 'printstation-hub*'  and  journalctl -u 'printstation-hub*'
EOF
  else
    cat <<EOF
Next:
  1. edit $CONF_DIR/station.toml (station id, printers, scanners) and check it:
       printstation check-config $CONF_DIR/station.toml
  2. pair it with the hub (docs/appliance.md, "Pairing"), or put its MQTT password in
     $CONF_DIR/credentials/mqtt-password (mode 0600)
  3. on a Raspberry Pi, add firmware_config/boot/config.txt to /boot/firmware/config.txt
  4. start it:  systemctl start printstation.target  (or reboot)
  5. check it:  printstation doctor --config $CONF_DIR/station.toml
EOF
  fi
}

uninstall() {
  log "1. stopping and disabling the units"
  local unit names=()
  for unit in "$UNIT_DIR"/printstation*; do
    if [ -f "$unit" ]; then names+=("$(basename "$unit")"); fi
  done
  if [ "${#names[@]}" -gt 0 ]; then
    if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
      as_root systemctl stop printstation.target printstation-hub.target 2>/dev/null || true
    fi
    # shellcheck disable=SC2046
    as_root systemctl $(root_opt) disable --quiet "${names[@]}" 2>/dev/null || true
  fi
  log "2. removing units, rules, the venv and the command"
  as_root rm -rf "${names[@]/#/$UNIT_DIR/}" "$UNIT_DIR"/printstation*.wants \
    "$UNIT_DIR/mosquitto.service.d/printstation.conf" \
    "$ROOT/etc/udev/rules.d/60-printstation.rules" \
    "$ROOT/etc/systemd/journald.conf.d/printstation.conf" \
    "$ROOT/etc/systemd/system.conf.d/printstation.conf" \
    "$ROOT$PREFIX" "$ROOT/usr/local/bin/printstation"
  if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then as_root systemctl daemon-reload; fi
  log "done: $CONF_DIR, $DATA_DIR and the users are kept (remove them by hand to purge)"
}

main() {
  case "$MODE" in
    dev)
      step1_packages
      step2_venv "$SRC_DIR/.venv" dev
      log "done: run the tests with .venv/bin/pytest, the demo with .venv/bin/printstation demo"
      ;;
    station)
      step1_packages
      step2_venv "$ROOT$PREFIX" hardware
      step3_users
      step4_config station "$SERVICE_USER"
      step5_system
      step6_units
      summary station
      ;;
    hub)
      step1_packages
      step2_venv "$ROOT$PREFIX" hub
      step3_users
      step4_config hub "$HUB_USER"
      step5_system
      step6_units
      summary hub
      ;;
    uninstall) uninstall ;;
  esac
}

main
