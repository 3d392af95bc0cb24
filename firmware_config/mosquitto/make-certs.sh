#!/usr/bin/env bash
# Make the TLS material for the printstation hub broker: a private CA, the broker's server
# certificate and one client certificate per station (CN = station id = MQTT username).
#
# Idempotent: an existing key is never overwritten; a certificate is only issued when it is
# missing. Delete a certificate (not its key) to re-issue it, e.g. with new host names.
set -euo pipefail

readonly STATION_ID_RE='^[a-z0-9][a-z0-9_-]{0,62}$'

CERT_DIR="${PRINTSTATION_CERT_DIR:-./certs}"
CA_DAYS="${PRINTSTATION_CA_DAYS:-3650}"
CERT_DAYS="${PRINTSTATION_CERT_DAYS:-825}"
CA_NAME="${PRINTSTATION_CA_NAME:-printstation MQTT CA}"
# Scratch space for requests and extension files; made in main, removed on exit.
WORK=""

usage() {
    cat <<USAGE
Usage: $(basename "$0") [-d DIR] COMMAND [ARGS...]

Commands:
  ca                       create the CA (DIR/ca.key, DIR/ca.crt) if absent
  server HOST [HOST...]    create the CA if absent and the broker certificate
                           (DIR/server.key, DIR/server.crt); the first HOST is the CN,
                           every HOST goes into subjectAltName (DNS names or IP addresses)
  station ID [ID...]       create the CA if absent and one client certificate per station
                           (DIR/stations/ID.key, DIR/stations/ID.crt, CN = ID)

Options:
  -d DIR    where the files live (default: \$PRINTSTATION_CERT_DIR or ./certs)
  -h        show this help

Environment: PRINTSTATION_CA_DAYS (default 3650), PRINTSTATION_CERT_DAYS (default 825),
PRINTSTATION_CA_NAME (default "printstation MQTT CA").

Existing keys are never overwritten; keys are written with mode 0600.
Examples:
  $(basename "$0") -d /etc/mosquitto/printstation server hub.example.com 203.0.113.10
  $(basename "$0") -d /etc/mosquitto/printstation station st-01 st-02
USAGE
}

die() {
    echo "make-certs: $*" >&2
    exit 1
}

# new_key FILE: an EC P-256 private key, mode 0600, unless FILE already exists.
new_key() {
    local key="$1"
    if [[ -e "$key" ]]; then
        echo "keep   $key"
        return
    fi
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key")
    chmod 0600 "$key"
    echo "create $key"
}

make_ca() {
    new_key "$CERT_DIR/ca.key"
    if [[ -e "$CERT_DIR/ca.crt" ]]; then
        echo "keep   $CERT_DIR/ca.crt"
        return
    fi
    openssl req -new -x509 -sha256 -days "$CA_DAYS" \
        -key "$CERT_DIR/ca.key" -subj "/CN=$CA_NAME" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$CERT_DIR/ca.crt"
    echo "create $CERT_DIR/ca.crt"
}

# sign KEY CERT CN EXTENSIONS: issue CERT for KEY with subject CN, signed by the CA.
sign() {
    local key="$1" cert="$2" cn="$3" extensions="$4"
    printf '%s\n' "$extensions" \
        "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid:always" >"$WORK/ext.cnf"
    openssl req -new -sha256 -key "$key" -subj "/CN=$cn" -out "$WORK/req.csr"
    if ! openssl x509 -req -sha256 -days "$CERT_DAYS" -in "$WORK/req.csr" \
        -CA "$CERT_DIR/ca.crt" -CAkey "$CERT_DIR/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" \
        -extfile "$WORK/ext.cnf" -out "$cert" 2>"$WORK/openssl.log"; then
        cat "$WORK/openssl.log" >&2
        rm -f -- "$cert"
        die "could not sign $cert"
    fi
    echo "create $cert"
}

make_server() {
    (($# > 0)) || die "server: give at least one host name or IP address (see -h)"
    local host alt=""
    for host in "$@"; do
        if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then
            alt+="${alt:+,}IP:$host"
        else
            alt+="${alt:+,}DNS:$host"
        fi
    done
    make_ca
    new_key "$CERT_DIR/server.key"
    if [[ -e "$CERT_DIR/server.crt" ]]; then
        echo "keep   $CERT_DIR/server.crt (delete it to re-issue with other host names)"
        return
    fi
    sign "$CERT_DIR/server.key" "$CERT_DIR/server.crt" "$1" \
        "$(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" "subjectAltName=$alt")"
}

make_stations() {
    (($# > 0)) || die "station: give at least one station id (see -h)"
    local id
    for id in "$@"; do
        [[ "$id" =~ $STATION_ID_RE ]] ||
            die "station id '$id' must match $STATION_ID_RE (the [station] id rule)"
        [[ "$id" != hub && "$id" != hub-* ]] ||
            die "station id '$id' is reserved for the hub's MQTT users"
    done
    make_ca
    mkdir -p "$CERT_DIR/stations"
    for id in "$@"; do
        new_key "$CERT_DIR/stations/$id.key"
        if [[ -e "$CERT_DIR/stations/$id.crt" ]]; then
            echo "keep   $CERT_DIR/stations/$id.crt"
            continue
        fi
        sign "$CERT_DIR/stations/$id.key" "$CERT_DIR/stations/$id.crt" "$id" \
            "$(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth")"
    done
}

main() {
    local opt
    while getopts ":d:h" opt; do
        case "$opt" in
            d) CERT_DIR="$OPTARG" ;;
            h) usage; exit 0 ;;
            :) die "option -$OPTARG needs an argument (see -h)" ;;
            *) die "unknown option -$OPTARG (see -h)" ;;
        esac
    done
    shift $((OPTIND - 1))
    (($# > 0)) || { usage >&2; exit 2; }
    command -v openssl >/dev/null || die "openssl is missing: apt-get install openssl"
    mkdir -p "$CERT_DIR"
    WORK="$(mktemp -d)"
    trap 'rm -rf -- "$WORK"' EXIT
    local command="$1"
    shift
    case "$command" in
        ca) make_ca ;;
        server) make_server "$@" ;;
        station | stations) make_stations "$@" ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
