# Prosody 0.12 (Debian 12) as a private benchmark peer: its own config, data, log and
# PID file under STATE_DIR, run as the prosody user, loopback only, no system service.
# Source it; see README.md. Layout under STATE_DIR:
#   prosody.cfg.lua  prosody.pid  prosody.log  prosody.out  prosody/data  prosody/certs

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Prosody's SCRAM credentials use the same iteration count as Parley's default, so both
# servers (and the generator's key cache) do the same work per login.
PEER_PROSODY_ITERATIONS=${PEER_PROSODY_ITERATIONS:-4096}

# Writes data/<host>/accounts/<user>.dat the way mod_auth_internal_hashed stores them
# (SCRAM keys in hex, salt as a string, iteration_count), far faster than
# prosodyctl adduser, which runs one Prosody per account.
peer_prosody_write_accounts() {
    local data=$1 domain=$2 users=$3
    python3 - "$data" "$domain" "$users" "$PEER_PROSODY_ITERATIONS" <<'PY'
import hashlib, hmac, os, re, sys, unicodedata
data, domain, users, iterations = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# util.datamanager's path encoding: every non-alphanumeric byte becomes %xx.
enc = lambda s: re.sub(rb"[^A-Za-z0-9]", lambda m: b"%%%02x" % m.group(0)[0], s.encode()).decode()
lua = lambda s: '"' + "".join(c if c.isalnum() or c in "-_.@ " else "\\%d" % ord(c) for c in s) + '"'
folder = os.path.join(data, enc(domain), "accounts")
os.makedirs(folder, exist_ok=True)
count = 0
with open(users) as f:
    for line in f:
        parts = line.split()
        if len(parts) < 2:
            continue
        # "localpart password"; a bare JID ("user@domain password") is accepted too.
        user = parts[0].split("@", 1)[0].lower()
        password = unicodedata.normalize("NFKC", parts[1])
        salt = os.urandom(12).hex()
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).hexdigest()
        server_key = hmac.new(salted, b"Server Key", "sha256").hexdigest()
        with open(os.path.join(folder, enc(user) + ".dat"), "w") as out:
            out.write('return {\n\t["iteration_count"] = %d;\n\t["salt"] = %s;\n'
                      '\t["server_key"] = "%s";\n\t["stored_key"] = "%s";\n};\n'
                      % (iterations, lua(salt), server_key, stored_key))
        count += 1
print(count)
PY
}

peer_prosody_write_config() {
    local state=$1 domain=$2 c2s=$3 tls=$4
    cat >"$state/prosody.cfg.lua" <<CFG
-- Written by tests/bench/peers/prosody.sh; rewritten at each start.
daemonize = false
pidfile = nil
data_path = "$state/prosody/data"
certificates = "$state/prosody/certs"
log = { { levels = { min = "warn" }, to = "file", filename = "$state/prosody.log" } }

-- Loopback only, no s2s, no HTTP; one internal component (MUC).
interfaces = { "127.0.0.1" }
c2s_ports = { $c2s }
c2s_direct_tls_ports = { $tls }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = true
allow_unencrypted_plain_auth = false

-- What a chat benchmark needs and no more. mod_limits (the Debian default config
-- shapes c2s to 10 kB/s) is not loaded, and its limits are lifted in case it is.
modules_enabled = { "saslauth", "tls", "roster", "disco", "ping" }
modules_disabled = { "s2s", "s2s_auth_certs", "dialback" }
limits = { c2s = { rate = "10000MB/s", burst = "10s" } }
c2s_stanza_size_limit = 262144
-- server_epoll leaves Nagle on by default (Parley and ejabberd set TCP_NODELAY) and
-- listens with a backlog of 128 (Parley: SOMAXCONN, 4096).
network_settings = { nagle = false, tcp_backlog = 4096 }

-- SCRAM-SHA-256 (Prosody offers one SCRAM hash, the one its credentials are kept in).
authentication = "internal_hashed"
password_hash = "SHA-256"
default_iteration_count = $PEER_PROSODY_ITERATIONS
storage = "internal"

ssl = { certificate = "$state/prosody/certs/bench.crt", key = "$state/prosody/certs/bench.key" }
c2s_direct_tls_ssl = { certificate = "$state/prosody/certs/bench.crt", key = "$state/prosody/certs/bench.key" }

VirtualHost "$domain"
    ssl = { certificate = "$state/prosody/certs/bench.crt", key = "$state/prosody/certs/bench.key" }

-- XEP-0045 for parley_bench's muc scenario, like Parley's [muc] section: anyone may
-- create a room, which stays locked (the default) until its owner accepts the
-- instant room; the history length is Parley's default (20); no tombstones.
Component "conference.$domain" "muc"
    restrict_room_creation = false
    muc_room_locking = true
    muc_room_default_history_length = 20
    muc_tombstones = false
CFG
    chmod 644 "$state/prosody.cfg.lua"
}

# peer_prosody_start STATE_DIR DOMAIN C2S_PORT DIRECT_TLS_PORT CERT KEY USERS_FILE
# Starts a fresh Prosody (data wiped, accounts written from USERS_FILE: "localpart
# password" lines) and echoes its PID once both ports accept connections.
peer_prosody_start() {
    local state=${1:?state dir} domain=${2:?domain} c2s=${3:?c2s port} tls=${4:?tls port}
    local cert=${5:?cert} key=${6:?key} users=${7:?users file} user=prosody pid count
    command -v prosody >/dev/null || { peer_say "prosody is not installed (peer_install)"; return 1; }
    mkdir -p "$state" && state=$(cd "$state" && pwd) || return 1
    peer_prosody_stop "$state"
    peer_check_args "$state" "$domain" "$c2s" "$tls" "$cert" "$key" "$users" || return 1
    [[ $(id -u) == 0 ]] || user=$(id -un)

    rm -rf "$state/prosody"
    mkdir -p "$state/prosody/data" "$state/prosody/certs"
    cp "$cert" "$state/prosody/certs/bench.crt" && cp "$key" "$state/prosody/certs/bench.key" || return 1
    chmod 600 "$state/prosody/certs/bench.key"
    count=$(peer_prosody_write_accounts "$state/prosody/data" "$domain" "$users") ||
        { peer_say "cannot write Prosody's accounts"; return 1; }
    peer_prosody_write_config "$state" "$domain" "$c2s" "$tls"
    : >"$state/prosody.log"
    chown -R "$user:" "$state/prosody" "$state/prosody.log" 2>/dev/null
    chmod 700 "$state/prosody"

    # setpriv execs, so $! is Prosody's own PID (the Lua interpreter).
    (
        ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
        cd "$state/prosody" || exit 1
        exec < /dev/null > "$state/prosody.out" 2>&1
        peer_exec_as_user "$user" prosody --config "$state/prosody.cfg.lua" -F
    ) &
    pid=$!
    echo "$pid" >"$state/prosody.pid"
    if ! peer_wait_ports "$pid" 30 "$c2s" "$tls"; then
        peer_say "prosody did not come up on 127.0.0.1:$c2s/$tls; see $state/prosody.out and prosody.log"
        tail -n 5 "$state/prosody.out" "$state/prosody.log" >&2 2>/dev/null
        peer_prosody_stop "$state"
        return 1
    fi
    peer_say "prosody $pid on 127.0.0.1:$c2s (STARTTLS) and :$tls (direct TLS), $count accounts"
    echo "$pid"
}

# peer_prosody_stop STATE_DIR
peer_prosody_stop() {
    local state=${1:?state dir}
    peer_stop_pid prosody "$state" 15
}
