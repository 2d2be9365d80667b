# ejabberd 23.01 (Debian 12) as a private benchmark peer: its own ejabberd.yml, Mnesia
# directory, cookie, log and PID file under STATE_DIR, run as the ejabberd user,
# loopback only, no system service and no epmd (the node listens for distribution on a
# fixed loopback port, -erl_epmd_port, so nothing registers anywhere). Source it; see
# README.md. Layout under STATE_DIR:
#   ejabberd.yml  ejabberd.pid  ejabberd.dist (distribution port)  ejabberd.out
#   ejabberd/{db,log,certs,.erlang.cookie,inetrc,users}

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PEER_EJABBERD_NODE=ejabberd@localhost
# Parley's default, and what ejabberd itself uses for new SCRAM credentials.
PEER_EJABBERD_ITERATIONS=${PEER_EJABBERD_ITERATIONS:-4096}

peer_ejabberd_write_config() {
    local state=$1 domain=$2 c2s=$3 tls=$4 listener
    {
        cat <<YML
# Written by tests/bench/peers/ejabberd.sh; rewritten at each start.
hosts:
  - "$domain"
loglevel: warning
log_rotate_count: 0
hide_sensitive_log_data: true
certfiles:
  - "$state/ejabberd/certs/bench.crt"
  - "$state/ejabberd/certs/bench.key"
acme:
  auto: false
c2s_protocol_options: [no_sslv3, no_tlsv1, no_tlsv1_1, cipher_server_preference, no_compression]

# SCRAM-SHA-256 with Parley's iteration count (ejabberd's default is also 4096).
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha256
disable_sasl_mechanisms: [digest-md5, x-oauth2]

# The Debian default shapes c2s to 3000 B/s and caps sessions; lifted here.
shaper: {}
shaper_rules:
  c2s_shaper: none
  max_user_sessions: 100
  max_user_offline_messages: 100
max_fsm_queue: 100000

acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all

# Loopback c2s only: no s2s, HTTP, STUN or MQTT listeners. The listen backlog is 5 unless
# set (Erlang's default): SYNs were dropped and logins stalled for seconds.
listen:
YML
        for listener in "starttls_required: true|$c2s" "tls: true|$tls"; do
            cat <<YML
  -
    port: ${listener#*|}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    backlog: 4096
    shaper: c2s_shaper
    access: c2s
    ${listener%|*}
YML
        done
        cat <<YML

# What a chat benchmark needs (mod_offline matches Prosody, which always loads it).
# Not loaded: mod_fail2ban, mod_pres_counter (rate limits), MAM, carbons, pubsub, ...
# mod_muc for the muc scenario: rooms of up to 10,000 (default 200) that send every
# presence (max_users_presence, default 1000, thins them out above), no per-user
# message or presence intervals, Parley's history length (20).
modules:
  mod_disco: {}
  mod_offline: {}
  mod_ping: {}
  mod_roster: {}
  mod_muc:
    host: "conference.$domain"
    access: all
    access_create: all
    access_persistent: all
    history_size: 20
    max_users: 10000
    max_users_presence: 10000
    min_message_interval: 0
    min_presence_interval: 0
    default_room_options:
      max_users: 10000
YML
    } >"$state/ejabberd.yml"
    chmod 644 "$state/ejabberd.yml"
}

# The directory holding ejabberd-<version>/ (Debian: /usr/lib/<multiarch>), for ERL_LIBS.
peer_ejabberd_libs() {
    local d
    for d in /usr/lib/*/ejabberd-*/ebin; do
        [[ -d $d ]] && { dirname "$(dirname "$d")"; return 0; }
    done
    return 1
}

# Environment and flags shared by the server node and the account-creating client.
peer_ejabberd_env() {
    local state=$1
    echo HOME="$state/ejabberd" ERL_LIBS="$(peer_ejabberd_libs)" ERL_EPMD_ADDRESS=127.0.0.1 \
        ERL_INETRC="$state/ejabberd/inetrc" ERL_CRASH_DUMP_BYTES=0
}

peer_ejabberd_free_port() {
    local port
    for (( port = 27400; port < 27600; port++ )); do
        peer_port_open "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# Stores every "localpart password" line of STATE_DIR/ejabberd/users as the SCRAM-SHA-256
# record ejabberd_auth_mnesia keeps ({passwd, {User, Host}, {scram, StoredKey, ServerKey,
# Salt, sha256, 4096}}, base64 fields), from one short-lived hidden node. The keys are
# derived there with crypto:pbkdf2_hmac (C) and written with one rpc of mnesia
# dirty_writes: ejabberdctl register starts a VM per account, and try_register derives
# the keys in Erlang (5000 accounts took a minute). Safe before the first login only
# (nothing is in ejabberd's auth cache yet).
peer_ejabberd_register() {
    local state=$1 domain=$2 user=$3 dist
    dist=$(<"$state/ejabberd.dist")
    # shellcheck disable=SC2016
    local script='
        [Node, Host0, File, Iter0] = init:get_plain_arguments(),
        Host = list_to_binary(Host0), Iter = list_to_integer(Iter0),
        {ok, Bin} = file:read_file(File),
        Fields = [binary:split(L, [<<" ">>, <<"\t">>], [global, trim_all])
                  || L <- binary:split(Bin, <<"\n">>, [global, trim_all])],
        %% "localpart password"; a bare JID ("user@domain password") is accepted too.
        Pairs = [{string:lowercase(hd(binary:split(U, <<"@">>))), P} || [U, P | _] <- Fields],
        Record = fun({U, P}) ->
            Salt = crypto:strong_rand_bytes(16),
            Salted = crypto:pbkdf2_hmac(sha256, P, Salt, Iter, 32),
            ClientKey = crypto:mac(hmac, sha256, Salted, <<"Client Key">>),
            ServerKey = crypto:mac(hmac, sha256, Salted, <<"Server Key">>),
            {passwd, {U, Host}, {scram, base64:encode(crypto:hash(sha256, ClientKey)),
                                 base64:encode(ServerKey), base64:encode(Salt), sha256, Iter}}
        end,
        Records = [Record(X) || X <- Pairs],
        Write = fun() -> lists:foreach(fun mnesia:dirty_write/1, Records), length(Records) end,
        case rpc:call(list_to_atom(Node), erlang, apply, [Write, []], 600000) of
            N when is_integer(N) -> io:format("~b~n", [N]), halt(0);
            Other -> io:format(standard_error, "rpc failed: ~p~n", [Other]), halt(1)
        end.'
    (
        cd "$state/ejabberd" || exit 1
        # shellcheck disable=SC2046
        peer_exec_as_user "$user" env $(peer_ejabberd_env "$state") timeout 600 \
            erl -sname "bulk$$@localhost" -hidden -noinput -noshell -start_epmd false \
            -erl_epmd_port "$dist" -dist_listen false -eval "$script" \
            -extra "$PEER_EJABBERD_NODE" "$domain" "$state/ejabberd/users" "$PEER_EJABBERD_ITERATIONS"
    )
}

# peer_ejabberd_start STATE_DIR DOMAIN C2S_PORT DIRECT_TLS_PORT CERT KEY USERS_FILE
# Starts a fresh ejabberd (Mnesia wiped), registers USERS_FILE's accounts and echoes
# the PID of its beam.smp once both ports accept connections.
peer_ejabberd_start() {
    local state=${1:?state dir} domain=${2:?domain} c2s=${3:?c2s port} tls=${4:?tls port}
    local cert=${5:?cert} key=${6:?key} users=${7:?users file} user=ejabberd pid dist count
    if ! command -v erl >/dev/null || [[ -z $(peer_ejabberd_libs) ]]; then
        peer_say "ejabberd is not installed (peer_install)"
        return 1
    fi
    mkdir -p "$state" && state=$(cd "$state" && pwd) || return 1
    peer_ejabberd_stop "$state"
    peer_check_args "$state" "$domain" "$c2s" "$tls" "$cert" "$key" "$users" || return 1
    [[ $(id -u) == 0 ]] || user=$(id -un)
    dist=$(peer_ejabberd_free_port) || { peer_say "no free distribution port"; return 1; }
    echo "$dist" >"$state/ejabberd.dist"

    rm -rf "$state/ejabberd"
    mkdir -p "$state/ejabberd/db" "$state/ejabberd/log" "$state/ejabberd/certs"
    cp "$cert" "$state/ejabberd/certs/bench.crt" && cp "$key" "$state/ejabberd/certs/bench.key" || return 1
    cp "$users" "$state/ejabberd/users" || return 1
    head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$state/ejabberd/.erlang.cookie"
    # Names resolve from /etc/hosts only: the node must not reach for DNS.
    printf '{file, hosts, "/etc/hosts"}.\n{lookup, [file]}.\n' >"$state/ejabberd/inetrc"
    peer_ejabberd_write_config "$state" "$domain" "$c2s" "$tls"
    chown -R "$user:" "$state/ejabberd" 2>/dev/null
    chmod 700 "$state/ejabberd"
    chmod 400 "$state/ejabberd/.erlang.cookie" "$state/ejabberd/certs/bench.key"

    # erl is a script that execs erlexec, which execs beam.smp: $! is the VM's PID.
    (
        ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
        cd "$state/ejabberd" || exit 1
        exec < /dev/null > "$state/ejabberd.out" 2>&1
        # shellcheck disable=SC2046
        peer_exec_as_user "$user" env $(peer_ejabberd_env "$state") \
            EJABBERD_CONFIG_PATH="$state/ejabberd.yml" EJABBERD_LOG_PATH="$state/ejabberd/log/ejabberd.log" \
            ERL_MAX_PORTS=65536 ERL_MAX_ETS_TABLES=2000 \
            erl -sname "$PEER_EJABBERD_NODE" -noinput +P 250000 -start_epmd false -erl_epmd_port "$dist" \
            -kernel inet_dist_use_interface '{127,0,0,1}' -mnesia dir "\"$state/ejabberd/db\"" -s ejabberd
    ) &
    pid=$!
    echo "$pid" >"$state/ejabberd.pid"
    if ! peer_wait_ports "$pid" 60 "$c2s" "$tls"; then
        peer_say "ejabberd did not come up on 127.0.0.1:$c2s/$tls; see $state/ejabberd.out and ejabberd/log"
        tail -n 5 "$state/ejabberd.out" "$state/ejabberd/log/ejabberd.log" >&2 2>/dev/null
        peer_ejabberd_stop "$state"
        return 1
    fi
    count=$(peer_ejabberd_register "$state" "$domain" "$user") ||
        { peer_say "registering the accounts failed"; peer_ejabberd_stop "$state"; return 1; }
    peer_say "ejabberd $pid on 127.0.0.1:$c2s (STARTTLS) and :$tls (direct TLS), $count accounts"
    echo "$pid"
}

# peer_ejabberd_stop STATE_DIR
peer_ejabberd_stop() {
    local state=${1:?state dir}
    peer_stop_pid ejabberd "$state" 20
}
