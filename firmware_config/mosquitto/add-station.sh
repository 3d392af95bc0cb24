#!/usr/bin/env bash
# Add a station to the hub broker, or set its password again: writes the password into the
# Mosquitto password file with `mosquitto_passwd -b` and prints the station's [mqtt] config.
#
# The station's password is kept in SECRETS_DIR/ID.password (mode 0600). Running the script
# again reuses it (idempotent); -r rotates it. Run as root on the hub, then reload mosquitto.
set -euo pipefail

readonly ID_RE='^[a-z0-9][a-z0-9_-]{0,62}$'

PASSWORD_FILE="${PRINTSTATION_MQTT_PASSWORD_FILE:-/etc/mosquitto/printstation/passwd}"
SECRETS_DIR="${PRINTSTATION_MQTT_SECRETS_DIR:-/etc/mosquitto/printstation/stations}"
BROKER_URL="${PRINTSTATION_MQTT_URL:-mqtts://hub.example.com:8883}"
ROTATE=false
HUB_USER=false

usage() {
    cat <<USAGE
Usage: $(basename "$0") [-p PASSWORD_FILE] [-s SECRETS_DIR] [-u URL] [-r] [-H] ID

Give the station ID (also its MQTT username) a password on the hub broker and print
what goes into the station's config.

Options:
  -p FILE   Mosquitto password file (default: \$PRINTSTATION_MQTT_PASSWORD_FILE or
            /etc/mosquitto/printstation/passwd); created if absent
  -s DIR    where station passwords are kept, one DIR/ID.password per station (default:
            \$PRINTSTATION_MQTT_SECRETS_DIR or /etc/mosquitto/printstation/stations)
  -u URL    broker URL printed for the station (default: \$PRINTSTATION_MQTT_URL or
            mqtts://hub.example.com:8883)
  -r        rotate: make a new password even if DIR/ID.password exists
  -H        the user is a hub user (hub or hub-*), not a station
  -h        show this help

Afterwards reload the broker so it reads the password file: systemctl reload mosquitto
USAGE
}

die() {
    echo "add-station: $*" >&2
    exit 1
}

# A 48-hex-digit random password (192 bits); od never fails on a closed pipe.
new_password() {
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

main() {
    local opt
    while getopts ":p:s:u:rHh" opt; do
        case "$opt" in
            p) PASSWORD_FILE="$OPTARG" ;;
            s) SECRETS_DIR="$OPTARG" ;;
            u) BROKER_URL="$OPTARG" ;;
            r) ROTATE=true ;;
            H) HUB_USER=true ;;
            h) usage; exit 0 ;;
            :) die "option -$OPTARG needs an argument (see -h)" ;;
            *) die "unknown option -$OPTARG (see -h)" ;;
        esac
    done
    shift $((OPTIND - 1))
    (($# == 1)) || { usage >&2; exit 2; }
    local id="$1"

    [[ "$id" =~ $ID_RE ]] || die "'$id' must match $ID_RE (the [station] id rule)"
    if [[ "$id" == hub || "$id" == hub-* ]]; then
        "$HUB_USER" || die "'$id' is reserved for the hub; pass -H to set a hub user's password"
    else
        "$HUB_USER" && die "hub users are named hub or hub-*, not '$id'"
    fi
    [[ "$BROKER_URL" =~ ^mqtts?:// ]] || die "URL must start with mqtt:// or mqtts://"
    command -v mosquitto_passwd >/dev/null ||
        die "mosquitto_passwd is missing: apt-get install mosquitto"

    # The broker (user mosquitto) must reach the password file; the secrets stay root's.
    local broker_dir
    broker_dir="$(dirname "$PASSWORD_FILE")"
    [[ -d "$broker_dir" ]] || install -d -m 0755 "$broker_dir"
    umask 077
    mkdir -p "$SECRETS_DIR"
    local secret="$SECRETS_DIR/$id.password" password
    if [[ -s "$secret" ]] && ! "$ROTATE"; then
        password="$(<"$secret")"
        echo "keep   $secret" >&2
    else
        password="$(new_password)"
        printf '%s\n' "$password" >"$secret.new"
        chmod 0600 "$secret.new"
        mv -f "$secret.new" "$secret"
        echo "write  $secret" >&2
    fi

    if [[ -e "$PASSWORD_FILE" ]]; then
        mosquitto_passwd -b "$PASSWORD_FILE" "$id" "$password"
    else
        mosquitto_passwd -c -b "$PASSWORD_FILE" "$id" "$password"
    fi
    # The broker drops root for the `mosquitto` user and must still read the file; the hub
    # (user printstation-hub, a member of the mosquitto group) adds paired stations to it.
    if ((EUID == 0)) && getent group mosquitto >/dev/null; then
        chown root:mosquitto "$PASSWORD_FILE"
        chmod 0660 "$PASSWORD_FILE"
    fi
    echo "set    $id in $PASSWORD_FILE (reload mosquitto to apply)" >&2

    if "$HUB_USER"; then
        cat <<CONFIG

# Hub config, [mqtt] section: hub processes use the broker's local plain listener.
[mqtt]
url = "mqtt://127.0.0.1:1883"
username = "$id"
password_file = "/etc/printstation/mqtt-password"

# Copy $secret to /etc/printstation/mqtt-password on the hub (mode 0600).
CONFIG
        return
    fi
    local ca_line=""
    if [[ "$BROKER_URL" == mqtts://* ]]; then
        ca_line='ca_file = "/etc/printstation/ca.crt"'
    fi
    cat <<CONFIG

# Station config (/etc/printstation/station.toml); [station] id must be "$id".
[mqtt]
url = "$BROKER_URL"
username = "$id"
# Copy $secret here (mode 0600), or name a systemd credential (a bare file name).
password_file = "/etc/printstation/mqtt-password"
$ca_line
CONFIG
}

main "$@"
