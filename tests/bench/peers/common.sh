# Shared by prosody.sh and ejabberd.sh (both source it): package installation, the
# PID helpers and the waits. Source it; it defines functions and changes nothing.
# Every function returns non-zero on failure and never exits, since scripts/bench
# sources these files into its own shell.

peer_say() { printf 'peers: %s\n' "$*" >&2; }

# Installs prosody and ejabberd when missing. A policy-rc.d that exits 101 keeps the
# packages' postinst scripts from starting the system services (invoke-rc.d obeys it);
# an existing policy-rc.d is left as it was.
peer_install() {
    local missing=() p
    for p in prosody ejabberd; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    (( ${#missing[@]} == 0 )) && return 0
    if [[ $(id -u) != 0 ]]; then
        peer_say "missing ${missing[*]}; as root run: apt-get install -y --no-install-recommends ${missing[*]}"
        return 1
    fi
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# written by tests/bench/peers: no service starts\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        ours=1
    fi
    peer_say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >/dev/null &&
          DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
              "${missing[@]}" >/dev/null; } || rc=1
    (( ours )) && rm -f "$policy"
    (( rc == 0 )) || peer_say "apt-get install ${missing[*]} failed"
    return "$rc"
}

# The PID recorded in STATE_DIR/NAME.pid if that process still runs.
peer_pid() {
    local name=${1:?name} state=${2:?state dir} pid
    [[ -r $state/$name.pid ]] || return 1
    read -r pid <"$state/$name.pid" || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

peer_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits (at most SECONDS) until every PORT accepts connections while PID lives.
peer_wait_ports() {
    local pid=$1 seconds=$2 port i
    shift 2
    for (( i = 0; i < seconds * 10; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 1
        local all=1
        for port in "$@"; do peer_port_open "$port" || { all=0; break; }; done
        (( all )) && return 0
        sleep 0.1
    done
    return 1
}

# SIGTERM to the PID in STATE_DIR/NAME.pid, up to SECONDS to exit, then SIGKILL.
peer_stop_pid() {
    local name=$1 state=$2 seconds=${3:-15} pid i
    pid=$(peer_pid "$name" "$state") || { rm -f "$state/$name.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for (( i = 0; i < seconds * 10; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        peer_say "$name ($pid) ignored SIGTERM for ${seconds}s; killing it"
        kill -KILL "$pid" 2>/dev/null
        for (( i = 0; i < 50; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$state/$name.pid"
}

# Replaces the shell with a command run as USER when root (else as is), so that a
# background subshell's $! is the daemon's own PID. Call it in a subshell only.
peer_exec_as_user() {
    local user=$1
    shift
    if [[ $(id -u) == 0 ]]; then
        exec setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
            env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
    else
        exec "$@"
    fi
}

# Checks the common arguments of peer_*_start.
peer_check_args() {
    local state=$1 domain=$2 c2s=$3 tls=$4 cert=$5 key=$6 users=$7
    [[ -n $state && -n $domain ]] || { peer_say "state dir and domain are required"; return 1; }
    [[ $c2s =~ ^[0-9]+$ && $tls =~ ^[0-9]+$ ]] || { peer_say "ports must be numbers"; return 1; }
    [[ -r $cert && -r $key ]] || { peer_say "cannot read $cert or $key"; return 1; }
    [[ -r $users ]] || { peer_say "cannot read the users file $users"; return 1; }
    local port
    for port in "$c2s" "$tls"; do
        peer_port_open "$port" && { peer_say "port $port is already in use"; return 1; }
    done
    return 0
}
