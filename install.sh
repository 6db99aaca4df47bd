#!/usr/bin/env bash
# install.sh installs unibus on a systemd host: the binary, a `unibus` system
# user, /etc/unibus (config, certs, secrets), /var/lib/unibus and a hardened
# unit. It is idempotent: run it again after editing the config.
#
#   sudo ./install.sh --config homelab/pi-1.toml [--binary PATH] [--no-start]
#   sudo ./install.sh --upgrade [--binary PATH]     new binary, same config and data
#   sudo ./install.sh --uninstall [--purge [--yes]]
#   sudo ./install.sh --join 10.0.0.11:6223 --token UB1-... [--name NAME]
#                                                   join a running cluster, install, start
#
# --root DIR installs into a throwaway root (DESTDIR-style): no systemctl, and
# the user is added to DIR/etc/passwd and DIR/etc/group instead of the host's.
#
# Nothing is half-applied: the new config and its files are staged beside
# /etc/unibus, checked by the new executable as the service user (the files
# judged as the service will read them), and only then swapped into place.
# A refused config leaves the installed one, and the running service, as
# they were. The unit comes from the executable (`unibus unit`), which reads
# the config with the node's own parser.
set -euo pipefail

readonly SERVICE=unibus
readonly UNIT_NAME=unibus.service
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

usage() {
  cat <<'EOF'
usage:
  install.sh --config FILE [--binary PATH] [--no-start] [--root DIR]
      install or update unibus with this config (copied to /etc/unibus/unibus.toml,
      with certs/, secrets/ and *.secret files found beside it)
  install.sh --upgrade [--binary PATH] [--config FILE] [--no-start] [--root DIR]
      replace the binary, keep /etc/unibus and /var/lib/unibus, restart
  install.sh --join ADDRESS --token TOKEN [--name NAME] [--replace] [--edge] [--binary PATH] [--no-start] [--root DIR]
      join a running cluster (the line `unibus token create` prints on a CA holder;
      with --edge: enroll this box as an edge of a hub, `unibus token create --edge`),
      then install and start with the files the join wrote; the CA key never comes here;
      --replace takes the place of a dead member of that name (its disk gone)
  install.sh --uninstall [--purge [--yes]] [--root DIR]
      stop and remove the service, binary and user; --purge also deletes
      /etc/unibus and /var/lib/unibus (asks first unless --yes)

options:
  --binary PATH  the unibus executable (default: unibus-linux-<arch>, unibus or
                 unibus-linux-<arch>.xz beside install.sh or in the current
                 directory, else dist/unibus-linux-<arch>)
  --root DIR     install into DIR instead of / (for images and tests)
  --no-start     install and enable, but do not (re)start the service
EOF
}

die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'install.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

say() {
  printf 'install.sh: %s\n' "$*"
}

# ---- arguments --------------------------------------------------------------

MODE=install
CONFIG=""
BINARY=""
ROOT=""
START=1
PURGE=0
YES=0
JOIN_ADDRESS=""
JOIN_TOKEN=""
JOIN_NAME=""
JOIN_REPLACE=0
JOIN_EDGE=0

while (($# > 0)); do
  case "$1" in
    --config) (($# >= 2)) || usage_error "--config needs a file"; CONFIG="$2"; shift 2 ;;
    --config=*) CONFIG="${1#*=}"; shift ;;
    --binary) (($# >= 2)) || usage_error "--binary needs a path"; BINARY="$2"; shift 2 ;;
    --binary=*) BINARY="${1#*=}"; shift ;;
    --root) (($# >= 2)) || usage_error "--root needs a directory"; ROOT="$2"; shift 2 ;;
    --root=*) ROOT="${1#*=}"; shift ;;
    --upgrade) MODE=upgrade; shift ;;
    --uninstall) MODE=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --yes | -y) YES=1; shift ;;
    --no-start) START=0; shift ;;
    --join) (($# >= 2)) || usage_error "--join needs a CA holder's ADDRESS (e.g. 10.0.0.11:6223)"; MODE="join"; JOIN_ADDRESS="$2"; shift 2 ;;
    --token) (($# >= 2)) || usage_error "--token needs the join token"; JOIN_TOKEN="$2"; shift 2 ;;
    --name) (($# >= 2)) || usage_error "--name needs a node name"; JOIN_NAME="$2"; shift 2 ;;
    --replace) JOIN_REPLACE=1; shift ;;
    --edge) JOIN_EDGE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

if [[ -n "$ROOT" ]]; then
  [[ -d "$ROOT" ]] || die "--root $ROOT is not a directory"
  ROOT="$(cd "$ROOT" && pwd)"
  [[ "$ROOT" != / ]] || ROOT=""
fi
((PURGE == 0)) || [[ "$MODE" == uninstall ]] || usage_error "--purge only goes with --uninstall"
[[ "$MODE" != install ]] || [[ -n "$CONFIG" ]] || usage_error "--config FILE is required"
[[ "$MODE" != join ]] || [[ -n "$JOIN_TOKEN" || -n "${UNIBUS_JOIN_TOKEN:-}" ]] || usage_error "--join needs --token TOKEN (from unibus token create on a CA holder)"
[[ "$MODE" != join ]] || [[ -z "$CONFIG" ]] || usage_error "--join writes its own config; leave out --config"
if [[ "$MODE" != join && ( -n "$JOIN_TOKEN$JOIN_NAME" || "$JOIN_REPLACE" == 1 || "$JOIN_EDGE" == 1 ) ]]; then
  usage_error "--token, --name, --replace and --edge go with --join"
fi
[[ "$(id -u)" == 0 ]] || die "run as root (sudo $0 ...): it creates a user and writes /etc and /usr/local"

readonly BIN_PATH="$ROOT/usr/local/bin/unibus"
readonly CONF_DIR="$ROOT/etc/unibus"
readonly CONF_FILE="$CONF_DIR/unibus.toml"
readonly STATE_DIR="$ROOT/var/lib/unibus"
readonly UNIT_DIR="$ROOT/etc/systemd/system"
readonly UNIT_PATH="$UNIT_DIR/$UNIT_NAME"
readonly WANTS_LINK="$UNIT_DIR/multi-user.target.wants/$UNIT_NAME"
# Staging beside /etc/unibus (same file system, so the swap is two renames).
readonly STAGE_DIR="$ROOT/etc/.unibus.staged"
readonly PREVIOUS_DIR="$ROOT/etc/.unibus.previous"
readonly STAGED_BIN="$ROOT/usr/local/bin/.unibus.staged"

# CHANGED is set when a file the running service reads was replaced.
CHANGED=0
# CREATED_ACCOUNT is set when this run added the unibus user or group;
# COMMITTED once checked files start to replace installed ones.
CREATED_ACCOUNT=0
COMMITTED=0
# Said once the install commits: a refused install takes the account back, so it never "created" one.
CREATED_NOTES=()
# CREATED_STATE_DIR is set when --join made the data dir (gone again if the join is refused).
CREATED_STATE_DIR=0

# ---- systemd ----------------------------------------------------------------

# systemd_running is true when this is the live host and systemd is PID 1.
systemd_running() {
  [[ -z "$ROOT" && -d /run/systemd/system ]] && command -v systemctl >/dev/null
}

service_active() {
  systemd_running && systemctl is-active --quiet "$UNIT_NAME"
}

# ---- users ------------------------------------------------------------------

# id_of prints the numeric id of a user (passwd) or group (group) from the
# target root's files; useradd --system always writes them locally.
id_of() {
  local db="$1" name="$2"
  awk -F: -v n="$name" '$1 == n { print $3; found = 1; exit } END { exit !found }' "$ROOT/etc/$db" 2>/dev/null
}

ensure_user() {
  if [[ -n "$ROOT" ]]; then
    # A throwaway root may have no account files yet.
    mkdir -p "$ROOT/etc"
    local f
    for f in passwd group shadow gshadow; do
      [[ -e "$ROOT/etc/$f" ]] || install -m "$([[ $f == *shadow ]] && echo 0640 || echo 0644)" /dev/null "$ROOT/etc/$f"
    done
  fi
  local prefix=()
  [[ -z "$ROOT" ]] || prefix=(--prefix "$ROOT")
  if ! id_of group "$SERVICE" >/dev/null; then
    groupadd "${prefix[@]}" --system "$SERVICE"
    CREATED_ACCOUNT=1
    CREATED_NOTES+=("created group $SERVICE")
  fi
  if ! id_of passwd "$SERVICE" >/dev/null; then
    local nologin=/usr/sbin/nologin
    [[ -x "$nologin" ]] || nologin=/sbin/nologin
    useradd "${prefix[@]}" --system --gid "$SERVICE" --no-create-home --home-dir /nonexistent \
      --shell "$nologin" --comment "unibus NATS message bus" "$SERVICE"
    CREATED_ACCOUNT=1
    CREATED_NOTES+=("created system user $SERVICE")
  fi
  UID_N="$(id_of passwd "$SERVICE")"
  GID_N="$(id_of group "$SERVICE")"
}

remove_user() {
  local prefix=()
  [[ -z "$ROOT" ]] || prefix=(--prefix "$ROOT")
  if id_of passwd "$SERVICE" >/dev/null; then
    userdel "${prefix[@]}" "$SERVICE"
    say "removed user $SERVICE"
  fi
  if id_of group "$SERVICE" >/dev/null; then
    groupdel "${prefix[@]}" "$SERVICE"
  fi
}

# ---- files ------------------------------------------------------------------

# put_file SRC DEST MODE OWNER:GROUP copies a file atomically (temp + rename,
# so a running binary is never overwritten in place) and notes a change.
put_file() {
  local src="$1" dest="$2" mode="$3" owner="$4"
  if [[ -f "$dest" ]] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"
    chown "$owner" "$dest"
    return 0
  fi
  local tmp
  mkdir -p "$(dirname "$dest")"
  tmp="$(dirname "$dest")/.$(basename "$dest").new.$$"
  install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$tmp"
  mv -f "$tmp" "$dest"
  # Staged files count when the staged folder is swapped in (swap_config).
  [[ "$dest" == "$STAGE_DIR"/* ]] && return 0
  CHANGED=1
  say "installed $dest"
}

put_dir() {
  local dir="$1" mode="$2" owner="$3"
  mkdir -p "$dir"
  chmod "$mode" "$dir"
  chown "$owner" "$dir"
}

# ---- checks as the service ------------------------------------------------

# as_service CMD... runs a command as the service will run: as the unibus
# user and group (setpriv, no other groups) with the unit's $STATE_DIRECTORY.
# With --root the ids are the account's inside DIR; when DIR itself keeps
# that uid out (a mktemp -d folder is 0700), DIR gets search permission for
# others (o+x, no listing) for the length of the command only.
as_service() {
  command -v setpriv >/dev/null || die "setpriv is missing (Debian package util-linux): install.sh checks the config as the unibus user with it"
  local code=0
  ((ROOT_SHUT)) && chmod o+x "$ROOT"
  setpriv --reuid="$UID_N" --regid="$GID_N" --clear-groups -- env STATE_DIRECTORY=/var/lib/unibus "$@" || code=$?
  ((ROOT_SHUT)) && chmod o-x "$ROOT"
  return "$code"
}

# check_root_reachable decides, once the account exists, whether --root DIR
# lets the service's uid in; if not, the checks open it for their length.
ROOT_SHUT=0
check_root_reachable() {
  [[ -n "$ROOT" ]] || return 0
  if ! setpriv --reuid="$UID_N" --regid="$GID_N" --clear-groups -- test -x "$ROOT" 2>/dev/null; then
    ROOT_SHUT=1
    say "note: uid $UID_N ($SERVICE inside $ROOT) cannot enter $ROOT (mode $(stat -c %a "$ROOT")); it gets search permission (o+x) only while the config is checked as $SERVICE"
  fi
}

# check_staged BINARY CONFIG asks the new executable whether the service
# will accept CONFIG; on refusal nothing has been changed yet.
check_staged() {
  local binary="$1" config="$2" problem
  if ! problem="$(as_service "$binary" config check --config "$config" 2>&1 >/dev/null)"; then
    problem="${problem#error: }"
    # Name the files as the operator knows them, not the staging copies (gone after this).
    problem="${problem//"$STAGE_DIR/unibus.toml"/"$(config_shown)"}"
    problem="${problem//"$STAGE_DIR"/"$CONF_DIR"}"
    die "$(config_shown) is not valid for unibus.service, so nothing was changed (the installed config and the running service are as they were): ${problem:-unibus config check failed}"
  fi
}

# config_shown names the config being installed as the operator gave it.
config_shown() {
  if [[ -n "$CONFIG" ]]; then echo "$CONFIG"; else echo "$CONF_FILE"; fi
}

# render_unit BINARY CONFIG OUT writes the unit for CONFIG, as the executable
# renders it (low ports, lame duck, data_dir all read by its real parser).
render_unit() {
  local binary="$1" config="$2" out="$3" problem
  if ! problem="$(as_service "$binary" unit --config "$config" 2>&1 >"$out")"; then
    problem="${problem#error: }"
    die "cannot render the unit for $(config_shown), so nothing was changed: ${problem:-unibus unit failed}"
  fi
}

# ---- staging and swapping ---------------------------------------------------

# recover_interrupted puts back a config that an interrupted swap left aside.
recover_interrupted() {
  if [[ ! -e "$CONF_DIR" && -d "$PREVIOUS_DIR" ]]; then
    mv "$PREVIOUS_DIR" "$CONF_DIR"
    say "restored $CONF_DIR from an interrupted install"
  fi
  rm -rf "$STAGE_DIR" "$PREVIOUS_DIR"
  rm -f "$STAGED_BIN"
}

# discard_stage removes whatever was staged and not swapped in (EXIT trap).
# A refused first install also takes back the account it created.
discard_stage() {
  # An interrupted check must not leave --root DIR open.
  if ((ROOT_SHUT)); then chmod o-x "$ROOT" || true; fi
  rm -rf "$STAGE_DIR" "${JOIN_WORK:-}"
  rm -f "$STAGED_BIN" "${UNIT_STAGED:-}" "${UNPACKED:-}"
  if ((CREATED_ACCOUNT && !COMMITTED)); then
    remove_user >/dev/null
  fi
  # A join that made the data dir and was refused (or whose install failed) leaves none behind.
  if ((CREATED_STATE_DIR && !COMMITTED)); then
    rm -rf "$STATE_DIR"
  fi
}

# commit marks the point of no return (no more rollback) and says what the install created.
commit() {
  COMMITTED=1
  local note
  for note in "${CREATED_NOTES[@]}"; do say "$note"; done
}

# stage_binary copies the new executable next to the installed one.
stage_binary() {
  mkdir -p "$(dirname "$BIN_PATH")"
  install -m 0755 -o 0 -g 0 "$BINARY" "$STAGED_BIN"
}

# stage_config lays out the new /etc/unibus in STAGE_DIR: a copy of the
# installed one, with the config and the files beside it (certs/, secrets/,
# *.secret) copied over it, every file with the owner and mode the service
# expects.
stage_config() {
  local src_dir f name mode
  src_dir="$(cd "$(dirname "$CONFIG")" && pwd)"
  rm -rf "$STAGE_DIR"
  if [[ -d "$CONF_DIR" ]]; then
    cp -a "$CONF_DIR" "$STAGE_DIR"
  fi
  put_dir "$STAGE_DIR" 0750 "0:$GID_N"
  put_file "$CONFIG" "$STAGE_DIR/unibus.toml" 0640 "0:$GID_N"
  for f in "$src_dir"/*.secret; do
    [[ -f "$f" ]] || continue
    # The box's join tokens are its own state (token create/revoke change them
    # here): a re-install must not bring back revoked tokens or drop new ones.
    if [[ "$(basename "$f")" == join-tokens.secret && -f "$STAGE_DIR/join-tokens.secret" ]]; then
      say "keeping the installed join-tokens.secret (tokens created or revoked on this box)"
      continue
    fi
    put_file "$f" "$STAGE_DIR/$(basename "$f")" 0640 "0:$GID_N"
  done
  if [[ -d "$src_dir/certs" ]]; then
    put_dir "$STAGE_DIR/certs" 0750 "0:$GID_N"
    for f in "$src_dir"/certs/*; do
      [[ -f "$f" ]] || continue
      name="$(basename "$f")"
      mode=0644
      [[ "$name" != *-key.pem ]] || mode=0640
      put_file "$f" "$STAGE_DIR/certs/$name" "$mode" "0:$GID_N"
    done
  fi
  # Password and leaf-node secret files ([[client.users]] password_file, secret_file).
  if [[ -d "$src_dir/secrets" ]]; then
    put_dir "$STAGE_DIR/secrets" 0750 "0:$GID_N"
    for f in "$src_dir"/secrets/*; do
      [[ -f "$f" ]] || continue
      put_file "$f" "$STAGE_DIR/secrets/$(basename "$f")" 0640 "0:$GID_N"
    done
  fi
}

# tree_listing prints every path under DIR with its mode, owner and content hash.
tree_listing() {
  (cd "$1" && find . -printf '%p %y %m %U %G\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

# swap_config moves the staged folder into place: the installed folder is
# renamed aside, the staged one renamed to /etc/unibus, the old one removed.
# Nothing reads /etc/unibus between the two renames (the service reads it
# only when it starts or reloads, after this), and an interrupted swap is
# undone by the next run (recover_interrupted).
swap_config() {
  if [[ -d "$CONF_DIR" ]] && [[ "$(tree_listing "$CONF_DIR")" == "$(tree_listing "$STAGE_DIR")" ]]; then
    rm -rf "$STAGE_DIR"
    return 0
  fi
  if [[ -e "$CONF_DIR" ]]; then
    mv "$CONF_DIR" "$PREVIOUS_DIR"
  fi
  mv "$STAGE_DIR" "$CONF_DIR"
  rm -rf "$PREVIOUS_DIR"
  CHANGED=1
  say "installed $CONF_DIR (config $CONF_FILE)"
}

# swap_binary replaces the executable by rename: a running unibus keeps the old file.
swap_binary() {
  if [[ -f "$BIN_PATH" ]] && cmp -s "$STAGED_BIN" "$BIN_PATH"; then
    rm -f "$STAGED_BIN"
    chmod 0755 "$BIN_PATH"
    chown 0:0 "$BIN_PATH"
    return 0
  fi
  mv -f "$STAGED_BIN" "$BIN_PATH"
  CHANGED=1
  say "installed $BIN_PATH"
}

# ---- preflight: can this host run unibus at all? ---------------------------
# Runs before anything is written. Each check says what is wrong and what to
# install. The requirements were measured on the binaries (objdump -T, readelf):
# the embedded nats-server (Debian 2.15) needs glibc 2.34; the Bun runtime
# needs a 64-bit glibc loader, /proc/self/exe, Linux 5.1, and on x86-64 AVX2.
# UNIBUS_PREFLIGHT_ROOT, _MACHINE and _KERNEL fake the host for tests only.

readonly PREFLIGHT_GLIBC_MIN=2.34
readonly PREFLIGHT_KERNEL_MIN=5.1
readonly PREFLIGHT_SUPPORTED="Raspberry Pi OS (64-bit) 12 bookworm or later on a Pi 3, 4, 5 or Zero 2 W; Debian 12 or later; Ubuntu 22.04 or later (x86-64 or arm64)"

# version_lt A B: true when dotted version A is older than B.
version_lt() {
  local -a a b
  local i
  IFS=. read -r -a a <<<"$1"
  IFS=. read -r -a b <<<"$2"
  for i in 0 1 2; do
    ((10#${a[i]:-0} == 10#${b[i]:-0})) || { ((10#${a[i]:-0} < 10#${b[i]:-0})); return; }
  done
  return 1
}

preflight_fail() {
  printf 'install.sh: error: this machine cannot run unibus: %s\n  supported: %s\n' "$*" "$PREFLIGHT_SUPPORTED" >&2
  exit 1
}

# preflight_host checks the host before anything is written or started.
preflight_host() {
  local r="${UNIBUS_PREFLIGHT_ROOT:-}" machine kernel loader glibc
  machine="${UNIBUS_PREFLIGHT_MACHINE:-$(uname -m)}"
  kernel="${UNIBUS_PREFLIGHT_KERNEL:-$(uname -r)}"
  case "$machine" in
    x86_64 | amd64) loader=/lib64/ld-linux-x86-64.so.2 ;;
    aarch64 | arm64) loader=/lib/ld-linux-aarch64.so.1 ;;
    armv6l | armv7l | armv8l | arm*)
      preflight_fail "it runs a 32-bit ARM kernel ($machine). unibus needs a 64-bit OS: on a Raspberry Pi 3, 4, 5 or Zero 2 W install Raspberry Pi OS (64-bit); a Pi 1, 2 or Zero (first model) cannot run it" ;;
    *) preflight_fail "unsupported architecture $machine; unibus ships for x86-64 and arm64 (aarch64) Linux only" ;;
  esac
  [[ -e "$r/proc/self/exe" ]] \
    || preflight_fail "/proc is not mounted, and the unibus executable reads itself through /proc/self/exe. Mount it (mount -t proc proc /proc), or give the container a /proc"
  if [[ ! -e "$r$loader" ]]; then
    if [[ -e "$r/lib/ld-linux-armhf.so.3" || -e "$r/lib/ld-linux.so.3" || -e "$r/lib/ld-linux.so.2" ]]; then
      preflight_fail "this is a 32-bit OS on a 64-bit kernel ($machine): its programs are 32-bit (no 64-bit loader $loader), so the 64-bit unibus executable cannot start. Install the 64-bit OS — on a Raspberry Pi, Raspberry Pi OS (64-bit) from Raspberry Pi Imager — and run install.sh again"
    fi
    if compgen -G "$r/lib/ld-musl-*.so.1" >/dev/null; then
      preflight_fail "this is a musl-based system (such as Alpine Linux); unibus and its nats-server need glibc ($loader)"
    fi
    preflight_fail "the 64-bit glibc loader $loader is missing; unibus needs a glibc-based 64-bit Linux"
  fi
  # The loader answers --version from glibc 2.33 on; older ones are named ld-2.NN.so.
  glibc="$("$r$loader" --version 2>/dev/null | sed -n '1s/.*version \([0-9][0-9]*\.[0-9][0-9]*\)\.$/\1/p' || true)"
  [[ -n "$glibc" ]] || glibc="$(readlink -f "$r$loader" | sed -n 's/.*ld-\([0-9][0-9]*\.[0-9][0-9]*\)\.so$/\1/p')"
  [[ -n "$glibc" ]] || glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc \([0-9.]*\)$/\1/p' || true)"
  if [[ -n "$glibc" ]] && version_lt "$glibc" "$PREFLIGHT_GLIBC_MIN"; then
    preflight_fail "its glibc is $glibc, older than $PREFLIGHT_GLIBC_MIN, which the embedded nats-server needs (Debian 11, Ubuntu 20.04 and Raspberry Pi OS 11 bullseye are too old). Upgrade the OS"
  fi
  if version_lt "${kernel%%[-+]*}" "$PREFLIGHT_KERNEL_MIN"; then
    preflight_fail "its Linux kernel is $kernel, older than $PREFLIGHT_KERNEL_MIN, the oldest the Bun runtime inside unibus supports. Upgrade the kernel or the OS"
  fi
  if [[ "$loader" == /lib64/* ]] && ! grep -qw avx2 "$r/proc/cpuinfo" 2>/dev/null; then
    preflight_fail "its CPU lacks AVX2, which the x86-64 build of unibus needs (Intel Haswell, AMD Excavator or Zen, 2013 or later)"
  fi
}

# ---- release download -------------------------------------------------------
# `npm run release` ships unibus-linux-<arch>.xz beside its .sha256 and this
# script. unpack_release_binary checks the sum and unpacks the executable to a
# temporary file (removed on exit) that the rest of the install uses.

UNPACKED=""

unpack_release_binary() {
  [[ "$BINARY" == *.xz ]] || return 0
  [[ -f "$BINARY" ]] || die "--binary $BINARY is not a file"
  local sums="$BINARY.sha256" want got
  [[ -f "$sums" ]] || die "$sums is missing: each release .xz comes with its .sha256; download both"
  want="$(awk 'NR == 1 { print $1 }' "$sums")"
  [[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "$sums does not hold a sha256 sum"
  got="$(sha256sum "$BINARY" | awk '{ print $1 }')"
  [[ "$got" == "$want" ]] || die "$BINARY is damaged or incomplete: its sha256 is $got, $sums says $want; download it again"
  command -v xz >/dev/null || die "unpacking $BINARY needs xz: install xz-utils (apt install xz-utils), or pass the unpacked executable with --binary"
  UNPACKED="$(mktemp "${TMPDIR:-/tmp}/unibus.XXXXXX")"
  trap 'rm -f "$UNPACKED"' EXIT
  xz -dc "$BINARY" >"$UNPACKED" || die "cannot unpack $BINARY"
  chmod 0755 "$UNPACKED"
  say "verified $BINARY (sha256 $got)"
  BINARY="$UNPACKED"
}

# ---- commands ---------------------------------------------------------------

host_binary_name() {
  local machine
  machine="$(uname -m)"
  case "$machine" in
    x86_64 | amd64) echo unibus-linux-x64 ;;
    aarch64 | arm64) echo unibus-linux-arm64 ;;
    *) die "unsupported architecture $machine: unibus ships for x86_64 and aarch64 (arm64) Linux only; on a Raspberry Pi, install a 64-bit OS" ;;
  esac
}

# binary_candidates lists, in order, where the executable for this machine may
# be without --binary: beside install.sh (README: copy the executable and
# install.sh into one folder), in the current directory, then the build's dist/.
binary_candidates() {
  local name dir
  name="$(host_binary_name)"
  for dir in "$SCRIPT_DIR" "$PWD"; do
    printf '%s\n' "$dir/$name" "$dir/unibus" "$dir/$name.xz"
  done
  printf '%s\n' "$SCRIPT_DIR/dist/$name"
}

# find_binary prints the first candidate that is a file.
find_binary() {
  local path
  while IFS= read -r path; do
    if [[ -f "$path" ]]; then
      printf '%s\n' "$path"
      return 0
    fi
  done < <(binary_candidates)
  return 1
}

check_binary() {
  if [[ -z "$BINARY" ]]; then
    BINARY="$(find_binary)" ||
      die "no unibus executable for this machine ($(uname -m)): put $(host_binary_name) (or its release .xz and .sha256) beside install.sh, build it (bun scripts/build.ts --target host), or pass --binary PATH; looked for: $(binary_candidates | tr '\n' ' ')"
  fi
  unpack_release_binary
  [[ -f "$BINARY" ]] || die "--binary $BINARY is not a file"
  local version
  if ! version="$("$BINARY" --version 2>&1)"; then
    die "$BINARY does not run on this machine ($(uname -m)): ${version:-no output}"
  fi
  say "binary: ${version%%$'\n'*}"
}

check_config() {
  [[ -f "$CONFIG" ]] || die "config file $CONFIG not found"
}

# data_dir_of_unit prints the ReadWritePaths= of a rendered unit: a data_dir
# outside /var/lib/unibus, which install.sh creates for the service user.
# (A "-" path is the [backup] dir: see backup_dir_of_unit.)
data_dir_of_unit() {
  sed -n 's/^ReadWritePaths=\([^-]\)/\1/p' "$1" | head -n 1
}

# backup_dir_of_unit prints the [backup] dir a rendered unit lists ("-" path):
# created for the service user when its disk (the parent folder) is there.
backup_dir_of_unit() {
  sed -n 's/^ReadWritePaths=-//p' "$1" | head -n 1
}

install_state_dir() {
  mkdir -p "$STATE_DIR"
  # A reinstall may give the user a new uid: hand the kept data over to it.
  if [[ "$(stat -c %u:%g "$STATE_DIR")" != "$UID_N:$GID_N" ]]; then
    chown -R "$UID_N:$GID_N" "$STATE_DIR"
  fi
  chmod 0700 "$STATE_DIR"
  local data_dir
  data_dir="$(data_dir_of_unit "$UNIT_STAGED")"
  if [[ -n "$data_dir" ]]; then
    put_dir "$ROOT$data_dir" 0700 "$UID_N:$GID_N"
  fi
  local backup_dir
  backup_dir="$(backup_dir_of_unit "$UNIT_STAGED")"
  if [[ -n "$backup_dir" && -d "$ROOT$(dirname "$backup_dir")" ]]; then
    put_dir "$ROOT$backup_dir" 0700 "$UID_N:$GID_N"
  elif [[ -n "$backup_dir" ]]; then
    say "warning: [backup] dir $backup_dir: $(dirname "$backup_dir") does not exist (disk not mounted?); scheduled backups fail until it does"
  fi
}

# stage_unit renders the unit for CONFIG with the staged executable.
stage_unit() {
  local config="$1"
  UNIT_STAGED="$(mktemp)"
  render_unit "$STAGED_BIN" "$config" "$UNIT_STAGED"
}

install_unit() {
  mkdir -p "$UNIT_DIR"
  put_file "$UNIT_STAGED" "$UNIT_PATH" 0644 0:0
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT_NAME"
  else
    # What `systemctl enable` does for WantedBy=multi-user.target.
    mkdir -p "$(dirname "$WANTS_LINK")"
    ln -sfn "/etc/systemd/system/$UNIT_NAME" "$WANTS_LINK"
  fi
}

start_service() {
  if ((START == 0)); then
    say "not starting (--no-start); start with: systemctl start $UNIT_NAME"
    return 0
  fi
  if [[ -n "$ROOT" ]]; then
    return 0
  fi
  if ! systemd_running; then
    say "systemd is not running here; installed and enabled, but not started"
    return 0
  fi
  if service_active; then
    if ((CHANGED)); then
      say "restarting $UNIT_NAME"
      systemctl restart "$UNIT_NAME" || die "$UNIT_NAME did not restart; see: journalctl -u $UNIT_NAME -n 50"
    else
      say "$UNIT_NAME is running and nothing changed"
    fi
  else
    say "starting $UNIT_NAME (waits until nats-server is ready)"
    systemctl start "$UNIT_NAME" || die "$UNIT_NAME did not start; see: journalctl -u $UNIT_NAME -n 50"
  fi
  systemctl --no-pager --lines=0 status "$UNIT_NAME" || true
  admin_hint
}

# admin_hint says where the admin page is and where its token lives, read from the
# effective config unibus itself prints (`config check`), so it matches what the node serves.
admin_hint() {
  local effective enabled listen tls token_file scheme
  effective="$(as_service "$BIN_PATH" config check --config "$CONF_FILE" 2>/dev/null | sed -n '/^\[admin\]$/,/^\[/p')" || return 0
  enabled="$(sed -n 's/^enabled = //p' <<<"$effective")"
  listen="$(sed -n 's/^listen = "\(.*\)"$/\1/p' <<<"$effective")"
  tls="$(sed -n 's/^tls = //p' <<<"$effective")"
  token_file="$(sed -n 's/^token_file = "\(.*\)"$/\1/p' <<<"$effective")"
  [[ "$enabled" == true && -n "$listen" ]] || return 0
  scheme=http
  [[ "$tls" != true ]] || scheme=https
  say "admin page: $scheme://$listen/ (its token: sudo cat ${token_file:-$STATE_DIR/admin.token}); health: sudo unibus status"
}

do_install() {
  preflight_host
  check_config
  check_binary
  ensure_user
  check_root_reachable
  recover_interrupted
  trap discard_stage EXIT
  stage_binary
  stage_config
  check_staged "$STAGED_BIN" "$STAGE_DIR/unibus.toml"
  stage_unit "$STAGE_DIR/unibus.toml"
  # Checked: from here on, swap in.
  commit
  swap_binary
  swap_config
  install_state_dir
  install_unit
  start_service
}

do_upgrade() {
  preflight_host
  [[ -f "$CONF_FILE" && -e "$BIN_PATH" ]] || die "unibus is not installed under ${ROOT:-/}; install it first with --config FILE"
  if [[ -n "$CONFIG" ]] && ! cmp -s "$CONFIG" "$CONF_FILE"; then
    say "note: keeping the installed $CONF_FILE; $CONFIG is not copied on --upgrade (run without --upgrade to replace the config)"
  fi
  check_binary
  ensure_user
  check_root_reachable
  recover_interrupted
  trap discard_stage EXIT
  stage_binary
  # The new executable must accept the installed config before it replaces the old one.
  check_staged "$STAGED_BIN" "$CONF_FILE"
  stage_unit "$CONF_FILE"
  commit
  swap_binary
  install_state_dir
  install_unit
  start_service
}

# do_join makes this box a member with `unibus join` (it checks the CA
# against the token, proves the token and gets its certificate for a key made
# here), staged in a temp folder with its data-dir files in /var/lib/unibus,
# then installs that config as --config would. A refused join changes nothing.
do_join() {
  preflight_host
  [[ ! -e "$CONF_FILE" ]] || die "unibus is already installed here ($CONF_FILE): this box is a node already. To join it anew, uninstall first (install.sh --uninstall --purge)"
  check_binary
  # JOIN_WORK holds the new key and the route secret until they are staged: discard_stage removes it.
  JOIN_WORK="$(mktemp -d)"
  trap discard_stage EXIT
  if [[ ! -e "$STATE_DIR" ]]; then
    CREATED_STATE_DIR=1
    mkdir -p "$STATE_DIR"
  fi
  chmod 0700 "$STATE_DIR"
  local args=(join "$JOIN_ADDRESS" --out "$JOIN_WORK" --data-dir "$STATE_DIR")
  [[ -z "$JOIN_NAME" ]] || args+=(--name "$JOIN_NAME")
  ((JOIN_REPLACE == 0)) || args+=(--replace)
  ((JOIN_EDGE == 0)) || args+=(--edge)
  # The token goes through the environment, not the command line of a process that runs for seconds.
  # UNIBUS_JOIN_INSTALLING: the join's "next:" hint would name JOIN_WORK, which is installed and removed right here.
  UNIBUS_JOIN_INSTALLING=1 UNIBUS_JOIN_TOKEN="${JOIN_TOKEN:-${UNIBUS_JOIN_TOKEN:-}}" "$BINARY" "${args[@]}" || die "joining through $JOIN_ADDRESS failed (see above); nothing was installed"
  CONFIG="$JOIN_WORK/unibus.toml"
  do_install
}

confirm_purge() {
  ((YES == 0)) || return 0
  if [[ ! -t 0 ]]; then
    die "--purge deletes $CONF_DIR and $STATE_DIR (keys, JetStream data) and needs confirmation: run it on a terminal or add --yes"
  fi
  local answer
  read -r -p "Delete $CONF_DIR and $STATE_DIR, including certificates, keys and all JetStream data? Type 'yes': " answer
  [[ "$answer" == yes ]] || die "not purged; nothing was removed"
}

do_uninstall() {
  ((PURGE == 0)) || confirm_purge
  if systemd_running; then
    systemctl disable --now --quiet "$UNIT_NAME" 2>/dev/null || true
  fi
  rm -f "$WANTS_LINK"
  if [[ -e "$UNIT_PATH" ]]; then
    rm -f "$UNIT_PATH"
    say "removed $UNIT_PATH"
  fi
  if systemd_running; then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT_NAME" 2>/dev/null || true
  fi
  if [[ -e "$BIN_PATH" ]]; then
    rm -f "$BIN_PATH"
    say "removed $BIN_PATH"
  fi
  remove_user
  if ((PURGE)); then
    rm -rf "$CONF_DIR" "$STATE_DIR"
    say "purged $CONF_DIR and $STATE_DIR"
  else
    [[ ! -e "$CONF_DIR" && ! -e "$STATE_DIR" ]] || say "kept $CONF_DIR and $STATE_DIR (remove them with --uninstall --purge)"
  fi
}

case "$MODE" in
  install) do_install ;;
  join) do_join ;;
  upgrade) do_upgrade ;;
  uninstall) do_uninstall ;;
esac
