# Shared by scripts/run and scripts/test: packages, build, and a private PostgreSQL.
# Source it; it defines functions and PARLEY_ROOT, and changes nothing until called.

PARLEY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARLEY_BUILD=${PARLEY_BUILD:-$PARLEY_ROOT/build}
PARLEY_JOBS=${PARLEY_JOBS:-2}
PG_BIN=/usr/lib/postgresql/15/bin
PARLEY_PACKAGES=(
    build-essential cmake ninja-build pkg-config ccache libboost1.81-dev libexpat1-dev
    libssl-dev libpqxx-dev libtomlplusplus-dev libidn2-dev libicu-dev libspdlog-dev
    doctest-dev libstrophe-dev postgresql-15 postgresql-client-15 openssl
    # Federation interoperability tests run these as private peers (never as services).
    prosody lua-unbound ejabberd
)

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

is_root() { [[ $(id -u) == 0 ]]; }

# Runs a command with root's rights: directly as root, else through passwordless sudo.
as_root() {
    if is_root; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1
    fi
}

# Runs a command as the owner of the cluster. PostgreSQL refuses to run as root, so
# root hands it to the postgres user; from / because that user may not see our cwd.
as_pg() {
    if is_root; then (cd / && runuser -u postgres -- "$@")
    else "$@"
    fi
}

# expat >= 2.6 (and Debian's 2.5.0-1+deb12u5 security update) declares this; the
# parser relies on it to keep large stanzas linear.
expat_is_new_enough() { grep -q XML_SetReparseDeferralEnabled /usr/include/expat.h 2>/dev/null; }

ensure_packages() {
    local missing=() p
    for p in "${PARLEY_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    if (( ${#missing[@]} == 0 )) && expat_is_new_enough; then return 0; fi
    local want=("${missing[@]}")
    expat_is_new_enough || want+=(libexpat1-dev libexpat1)
    if ! is_root && ! as_root true; then
        die "missing packages; as root run: apt-get update && apt-get install -y ${want[*]}"
    fi
    say "installing: ${want[*]}"
    # A policy-rc.d that exits 101 keeps the packages' postinst scripts from starting
    # system services (PostgreSQL, Prosody and ejabberd would listen on their public
    # ports); the tests start their own. An existing policy-rc.d is left as it was.
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [[ ! -e $policy ]] && as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"; then
        ours=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" ||
        rc=1
    (( ours )) && as_root rm -f "$policy"
    (( rc == 0 )) || die "apt-get install failed: ${want[*]}"
    expat_is_new_enough ||
        die "/usr/include/expat.h lacks XML_SetReparseDeferralEnabled (need libexpat1-dev >= 2.5.0-1+deb12u5)"
}

build() {
    if [[ ! -f $PARLEY_BUILD/build.ninja ]]; then
        cmake -S "$PARLEY_ROOT" -B "$PARLEY_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ||
            die "cmake configuration failed"
    fi
    cmake --build "$PARLEY_BUILD" -j"$PARLEY_JOBS" || die "build failed"
}

# ---- the private PostgreSQL cluster ------------------------------------------------
# var/pg holds data/, log and run/ (the socket); it is a symlink into /tmp when the
# postgres user cannot reach the repository (a clone under /root, say). The socket
# goes to /tmp/parley-pg-<hash>/run when var/pg/run is too long for a Unix socket.

pg_layout() {
    local hash
    hash=$(printf '%s' "$PARLEY_ROOT" | sha1sum | cut -c1-10)
    PG_TMP=/tmp/parley-pg-$hash
    PG_LINK=$PARLEY_ROOT/var/pg
    PG_PORT=5432
}

# Makes a directory the cluster's owner can write.
pg_owned_dir() {
    mkdir -p "$1" || return 1
    if is_root; then chown postgres:postgres "$1" && chmod 700 "$1"; fi
}

# Creates var/pg (or the /tmp folder it points to), then sets PG_HOME to its real
# path: the postgres user must not go through a folder it cannot traverse.
pg_prepare_home() {
    mkdir -p "$PARLEY_ROOT/var"
    if [[ -L $PG_LINK ]]; then
        pg_owned_dir "$(readlink "$PG_LINK")" || die "cannot create $(readlink "$PG_LINK")"
    else
        pg_owned_dir "$PG_LINK" || die "cannot create $PG_LINK"
        if is_root && ! runuser -u postgres -- test -w "$PG_LINK/"; then
            # A parent folder (say /root) is closed to postgres: keep the cluster in /tmp.
            rmdir "$PG_LINK" 2>/dev/null || die "$PG_LINK exists but postgres cannot use it"
            pg_owned_dir "$PG_TMP" || die "cannot create $PG_TMP"
            ln -s "$PG_TMP" "$PG_LINK" || die "cannot link $PG_LINK to $PG_TMP"
        fi
    fi
    PG_HOME=$(readlink -f "$PG_LINK")
    if is_root && ! runuser -u postgres -- test -w "$PG_HOME/"; then
        die "the postgres user cannot write $PG_HOME"
    fi
    PG_DATA=$PG_HOME/data
    PG_LOG=$PG_HOME/log
    # A Unix socket path must fit in 107 bytes ("/.s.PGSQL.5432" is 15 of them).
    PG_SOCKET_DIR=$PG_HOME/run
    if (( ${#PG_SOCKET_DIR} + 15 >= 107 )); then PG_SOCKET_DIR=$PG_TMP/run; fi
    pg_owned_dir "$PG_SOCKET_DIR" || die "cannot create $PG_SOCKET_DIR"
}

pg_is_running() { as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }

# A postmaster.pid left by a crash whose PID now belongs to another process would make
# pg_ctl think the server runs (or refuse to start); remove it unless that PID is the
# postmaster of this very data folder.
pg_remove_stale_pid() {
    local pidfile=$PG_DATA/postmaster.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(head -n1 "$pidfile")
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$PG_DATA"; then
        return 0
    fi
    say "removing stale $pidfile"
    rm -f "$pidfile"
}

start_pg() {
    pg_layout
    pg_prepare_home
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        say "initdb $PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-locale \
            >"$PG_HOME/initdb.log" 2>&1 || { cat "$PG_HOME/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'parley.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
    fi
    # Rewritten each start, so a moved repository gets its new socket folder.
    as_pg tee "$PG_DATA/parley.conf" >/dev/null <<CONF
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
fsync = ${PARLEY_PG_FSYNC:-on}
CONF
    PARLEY_PG_STARTED=0
    pg_remove_stale_pid
    if pg_is_running; then
        say "reusing the PostgreSQL already running in $PG_DATA"
    else
        as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$PG_DATA" -l "$PG_LOG" >/dev/null ||
            { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL did not start (log: $PG_LOG)"; }
        PARLEY_PG_STARTED=1
    fi
    export PGHOST=$PG_SOCKET_DIR PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=parley
    unset PGHOSTADDR PGSERVICE
    export PATH=$PG_BIN:$PATH
    # For another terminal: `source var/pg.env`, then build/parleyctl reaches this cluster.
    printf 'export PGHOST=%q PGPORT=%q PGUSER=postgres PGDATABASE=parley\n' \
        "$PGHOST" "$PGPORT" >"$PARLEY_ROOT/var/pg.env"
    if [[ -z $("$PG_BIN/psql" -d postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = 'parley'") ]]; then
        "$PG_BIN/createdb" parley || die "createdb parley failed"
    fi
}

# Stops the cluster only when start_pg started it in this shell.
stop_pg() {
    if [[ ${PARLEY_PG_STARTED:-0} == 1 ]]; then
        as_pg "$PG_BIN/pg_ctl" stop -w -D "$PG_DATA" -m fast >/dev/null || say "pg_ctl stop failed"
        PARLEY_PG_STARTED=0
    fi
}
