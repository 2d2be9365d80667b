// The muc scenario (XEP-0045 fan-out): N accounts log in and join one room; the first
// creates it and accepts the instant room (§10.1.2), the others join `concurrency` at
// a time, all with <history maxstanzas='0'/>. Once every occupant has seen every other
// one's presence, K senders post groupchat messages for `duration` seconds, each with
// at most `window` messages not yet received by every occupant (or, with --rate, the
// whole room offered a fixed number of messages/s). Bodies are "sender seq t_ns": every
// occupant checks it gets each message exactly once, and its latency is measured.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "scenarios.hpp"
#include "wait_group.hpp"

namespace parley::bench {

namespace asio = boost::asio;
using protocol::xml::Element;

namespace {

constexpr std::string_view ns_muc_user = "http://jabber.org/protocol/muc#user";

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Occupant {
    BenchClient* client = nullptr;
    std::string nick;
    std::unique_ptr<asio::steady_timer> wake;  // cancelled when the join or room set-up answers
    bool joined = false, created = false, configured = false;
    std::string failure;                       // the join's (or the room set-up's) error
    std::uint64_t presences = 0;               // other occupants' available presence
    std::vector<std::vector<bool>> seen;       // [sender][seq]
};

struct Sender {
    Occupant* occupant = nullptr;
    std::size_t index = 0;
    std::uint64_t sent = 0, completed = 0;
    std::vector<std::uint32_t> receipts;  // by seq: occupants that got it
    std::vector<std::int64_t> stamp_ns;   // by seq: when it was due
};

struct MucState {
    std::string room;  // bare JID of the room
    std::vector<Occupant> occupants;
    std::vector<Sender> senders;
    std::uint32_t expected = 0;  // occupants in the room during the phase
    bool sending = false, debug = std::getenv("PARLEY_BENCH_DEBUG") != nullptr;
    double rate = 0;
    unsigned window = 4;
    std::int64_t phase_start_ns = 0, phase_end_ns = 0;
    std::uint64_t delivered = 0, delivered_in_phase = 0, completed_in_phase = 0, duplicates = 0;
    std::uint64_t errors = 0, unexpected = 0, offered = 0, window_blocked = 0;
    LatencyHistogram delivery, completion;

    void send_next(Sender& s, std::int64_t stamp_ns = 0) {
        const std::uint64_t seq = s.sent++;
        const std::int64_t stamp = stamp_ns ? stamp_ns : now_ns();
        s.receipts.push_back(0);
        s.stamp_ns.push_back(stamp);
        s.occupant->client->send("<message type='groupchat' to='" + room + "' id='g" + std::to_string(s.index) + "-" +
                                 std::to_string(seq) + "'><body>" + std::to_string(s.index) + " " +
                                 std::to_string(seq) + " " + std::to_string(stamp) + "</body></message>");
    }

    void on_stanza(Occupant& o, const Element& el) {
        const std::string_view from = el.attr("from");
        const bool from_room = from.starts_with(room) && (from.size() == room.size() || from[room.size()] == '/');
        if (el.name() == "presence" && from_room) on_presence(o, el, from);
        else if (el.name() == "message" && el.attr("type") == "groupchat" && from_room) on_groupchat(o, el);
        else if (el.name() == "iq" && el.attr("id") == "create1") {
            if (el.attr("type") == "result") o.configured = true;
            else o.failure = "the room configuration was refused: " + error_condition(el);
            o.wake->cancel();
        } else if (el.attr("type") == "error") {
            if (++errors <= 3 && debug) {
                std::fprintf(stderr, "error: to %s from %s: %s\n", o.nick.c_str(), std::string(from).c_str(),
                             error_condition(el).c_str());
            }
        }
    }

    static std::string error_condition(const Element& el) {
        const Element* e = el.find_child("error");
        const Element* cond = e ? e->first_child_element() : nullptr;
        return cond ? cond->name() : std::string("?");
    }

    void on_presence(Occupant& o, const Element& el, std::string_view from) {
        const std::string_view type = el.attr("type");
        if (type == "error") {
            if (!o.joined && o.failure.empty()) o.failure = "join refused: " + error_condition(el);
            ++errors;
            if (o.wake) o.wake->cancel();
            return;
        }
        if (type == "unavailable") return;
        bool self = from.substr(std::min(from.size(), room.size() + 1)) == o.nick;
        bool created = false;
        if (const Element* x = el.find_child("x", ns_muc_user)) {
            for (const auto& c : x->children()) {
                if (c.name() != "status") continue;
                self = self || c.attr("code") == "110";
                created = created || c.attr("code") == "201";
            }
        }
        if (!self) {
            ++o.presences;
        } else if (!o.joined) {
            o.joined = true;
            o.created = created;
            if (o.wake) o.wake->cancel();
        }
    }

    void on_groupchat(Occupant& o, const Element& el) {
        const Element* body_el = el.find_child("body");
        if (!body_el) return;  // the subject (§7.2.15), sent after the join
        const std::string body = body_el->text();
        const char* b = body.data();
        const char* e = b + body.size();
        std::size_t k = 0;
        std::uint64_t seq = 0;
        std::int64_t stamp = 0;
        auto r1 = std::from_chars(b, e, k);
        auto r2 = r1.ec == std::errc() && r1.ptr != e ? std::from_chars(r1.ptr + 1, e, seq) : r1;
        auto r3 = r2.ec == std::errc() && r2.ptr != e ? std::from_chars(r2.ptr + 1, e, stamp) : r2;
        if (r1.ec != std::errc() || r2.ec != std::errc() || r3.ec != std::errc() || k >= senders.size() ||
            seq >= senders[k].sent) {
            ++unexpected;
            return;
        }
        if (o.seen.size() < senders.size()) o.seen.resize(senders.size());
        auto& seen = o.seen[k];
        if (seen.size() <= seq) seen.resize(seq + 1024, false);
        if (seen[seq]) {
            ++duplicates;
            return;
        }
        seen[seq] = true;
        const std::int64_t now = now_ns();
        ++delivered;
        const bool in_phase = stamp >= phase_start_ns && (phase_end_ns == 0 || stamp < phase_end_ns);
        if (in_phase) delivery.add(static_cast<double>(now - stamp) / 1e6);
        if (phase_end_ns == 0) ++delivered_in_phase;
        Sender& s = senders[k];
        if (++s.receipts[seq] != expected) return;
        ++s.completed;
        if (in_phase) completion.add(static_cast<double>(now - stamp) / 1e6);
        if (phase_end_ns == 0) ++completed_in_phase;
        // Closed loop: a message every occupant has frees a window slot of its sender.
        if (sending && rate == 0 && s.sent - s.completed < window) send_next(s);
    }

    std::uint64_t in_flight() const {
        std::uint64_t n = 0;
        for (const auto& s : senders) n += s.sent - s.completed;
        return n;
    }
};

asio::awaitable<void> sleep_ms(double ms) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::microseconds(static_cast<long>(ms * 1000)));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Waits for `o.wake` to be cancelled by the stanza handler, or for `timeout_ms`.
asio::awaitable<void> wait_for_answer(Occupant& o, double timeout_ms) {
    o.wake->expires_after(std::chrono::microseconds(static_cast<long>(timeout_ms * 1000)));
    boost::system::error_code ec;
    co_await o.wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void send_join(MucState& st, Occupant& o) {
    o.client->send("<presence to='" + st.room + "/" + o.nick +
                   "'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
}

// Occupants [next, end) join, one at a time per worker, until `stop_ms`.
asio::awaitable<void> join_worker(MucState* st, std::size_t* next, double timeout_ms, double stop_ms,
                                  WaitGroup* group) {
    while (*next < st->occupants.size() && now_ms() < stop_ms) {
        Occupant& o = st->occupants[(*next)++];
        send_join(*st, o);
        co_await wait_for_answer(o, timeout_ms);
        if (!o.joined && o.failure.empty()) o.failure = "no self-presence in time";
    }
    group->done();
}

// Open loop: `rate` messages/s over all senders in turn; a message whose sender has
// `window` messages not yet everywhere is not offered and counts as blocked.
asio::awaitable<void> pace(MucState* st, double stop_ms) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    const double start = now_ms();
    const std::int64_t start_ns = now_ns();
    std::size_t next = 0;
    while (now_ms() < stop_ms) {
        const auto due = static_cast<std::uint64_t>((now_ms() - start) / 1000.0 * st->rate);
        while (st->offered < due) {
            const auto due_ns = start_ns + static_cast<std::int64_t>(static_cast<double>(st->offered) * 1e9 / st->rate);
            ++st->offered;
            Sender& s = st->senders[next];
            next = (next + 1) % st->senders.size();
            if (s.sent - s.completed < st->window) st->send_next(s, due_ns);
            else ++st->window_blocked;
        }
        tick.expires_after(std::chrono::microseconds(std::clamp(static_cast<long>(1e6 / st->rate), 100L, 1000L)));
        co_await tick.async_wait(asio::use_awaitable);
    }
}

// Joins everyone (the first creates the room); false, with a note, when that failed.
asio::awaitable<bool> join_room(Env& env, MucState& st, Report& r) {
    const auto& o = env.options;
    const double timeout_ms = o.login_timeout_s * 1000;
    const double start = now_ms();
    Occupant& first = st.occupants.front();
    send_join(st, first);
    co_await wait_for_answer(first, timeout_ms);
    if (first.joined && first.created) {
        // XEP-0045 §10.1.2: the room stays locked until its owner accepts the defaults.
        first.client->send("<iq type='set' id='create1' to='" + st.room +
                           "'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                           "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
        co_await wait_for_answer(first, timeout_ms);
        if (!first.configured && first.failure.empty()) first.failure = "no answer to the room configuration";
    }
    r.add("room_created", first.created ? 1 : 0);
    if (!first.joined || !first.failure.empty()) {
        r.note("error", first.nick + ": " + (first.failure.empty() ? "no self-presence in time" : first.failure));
        co_return false;
    }
    std::size_t next = 1;
    WaitGroup workers(co_await asio::this_coro::executor);
    const unsigned n = std::max(1u, std::min<unsigned>(o.concurrency, static_cast<unsigned>(st.occupants.size())));
    workers.add(static_cast<int>(n));
    const double stop = start + std::max(120.0, o.login_timeout_s * 4) * 1000;
    for (unsigned w = 0; w < n; ++w) {
        asio::co_spawn(env.io, join_worker(&st, &next, timeout_ms, stop, &workers), asio::detached);
    }
    co_await workers.wait();
    std::size_t joined = 0;
    std::string first_failure;
    for (const auto& occ : st.occupants) {
        joined += occ.joined;
        if (!occ.joined && first_failure.empty()) first_failure = occ.nick + ": " + occ.failure;
    }
    r.add("occupants_joined", static_cast<double>(joined));
    if (joined < st.occupants.size()) {
        r.note("error", std::to_string(st.occupants.size() - joined) + " joins failed; first: " + first_failure);
        co_return false;
    }
    // Everyone must have seen everyone else before the clock starts: the presence
    // flood of the joins would otherwise share the measured phase.
    const double settle_stop = now_ms() + std::max(60.0, o.login_timeout_s) * 1000;
    std::uint64_t missing = 0;
    do {
        missing = 0;
        for (const auto& occ : st.occupants) {
            if (occ.presences + 1 < st.occupants.size()) missing += st.occupants.size() - 1 - occ.presences;
        }
        if (missing > 0) co_await sleep_ms(20);
    } while (missing > 0 && now_ms() < settle_stop);
    r.add("join_seconds", (now_ms() - start) / 1000);
    r.add("occupant_presences_missing", static_cast<double>(missing));
    co_return true;
}

}  // namespace

Report run_muc(Env& env) {
    Report r;
    r.scenario = "muc";
    const auto& o = env.options;
    MucState st;
    st.room = o.room + "@" + (o.muc_domain.empty() ? "conference." + o.server.domain : o.muc_domain);
    st.rate = o.rate;
    st.window = std::max(1u, o.window);
    const std::size_t nsenders = std::min<std::size_t>(std::max(1u, o.senders), o.connections);
    run_to_completion(env, [&]() -> asio::awaitable<void> {
        const double login_start = now_ms();
        LoginBatch batch = co_await login_all(env, o.connections, true, login_start + 120000);
        r.add("login_seconds", (now_ms() - login_start) / 1000);
        if (batch.failures > 0) {
            r.note("error", std::to_string(batch.failures) + " logins failed; first: " + batch.first_error);
            co_await close_all(env, batch.clients);
            co_return;
        }
        st.occupants.resize(batch.clients.size());
        for (std::size_t i = 0; i < st.occupants.size(); ++i) {
            Occupant& occ = st.occupants[i];
            occ.client = batch.clients[i].get();
            occ.nick = "o" + std::to_string(i);
            occ.wake = std::make_unique<asio::steady_timer>(env.io);
            occ.client->start_reading([&st, &occ](const Element& el) { st.on_stanza(occ, el); });
        }
        st.senders.resize(nsenders);
        for (std::size_t k = 0; k < nsenders; ++k) st.senders[k].occupant = &st.occupants[k], st.senders[k].index = k;
        if (!co_await join_room(env, st, r)) {
            co_await close_all(env, batch.clients);
            co_return;
        }
        st.expected = static_cast<std::uint32_t>(st.occupants.size());

        co_await phase_gate(env);
        const ProcSample before = sample_process(o.server_pid);
        const double self_before = self_cpu_ms();
        const double start = now_ms();
        const double stop = start + o.duration_s * 1000;
        st.phase_start_ns = now_ns();
        st.sending = true;
        if (o.rate > 0) {
            co_await pace(&st, stop);
        } else {
            for (auto& s : st.senders) {
                for (unsigned w = 0; w < st.window; ++w) st.send_next(s);
            }
            while (now_ms() < stop) co_await sleep_ms(std::min(50.0, stop - now_ms()));
        }
        st.sending = false;
        st.phase_end_ns = now_ns();
        const double wall = now_ms() - start;
        const ProcSample after = sample_process(o.server_pid);
        phase_done(env);
        add_process_figures(r, env, before, after, self_before, wall, st.delivered_in_phase / 1000.0,
                            "server_cpu_ms_per_1000_deliveries");
        r.add("occupants", st.expected);
        r.add("senders", static_cast<double>(nsenders));
        r.add("window", st.window);
        r.add("offered_rate", o.rate);
        if (o.rate > 0) r.add("offered_in_phase", static_cast<double>(st.offered));
        r.add("seconds", wall / 1000);
        r.add("deliveries_in_phase", static_cast<double>(st.delivered_in_phase));
        r.add("deliveries_per_s", wall > 0 ? st.delivered_in_phase * 1000.0 / wall : 0);
        r.add("messages_complete_per_s", wall > 0 ? st.completed_in_phase * 1000.0 / wall : 0);

        const double drain_stop = now_ms() + o.drain_s * 1000;
        while (st.in_flight() > 0 && now_ms() < drain_stop) co_await sleep_ms(10);
        std::size_t read_errors = 0;
        for (const auto& c : batch.clients) read_errors += c && !c->read_error().empty();
        r.add("read_errors", static_cast<double>(read_errors));
        if (read_errors > 0) r.note("error", std::to_string(read_errors) + " connections failed while reading");
        co_await close_all(env, batch.clients);
    }());
    std::uint64_t sent = 0;
    for (const auto& s : st.senders) sent += s.sent;
    const double expected = static_cast<double>(sent) * st.expected;
    r.add("messages_sent", static_cast<double>(sent));
    r.add("deliveries_expected", expected);
    r.add("delivered", static_cast<double>(st.delivered));
    r.add("lost", expected - static_cast<double>(st.delivered));
    r.add("delivered_fraction", expected > 0 ? static_cast<double>(st.delivered) / expected : 0);
    r.add("duplicated", static_cast<double>(st.duplicates));
    r.add("error_replies", static_cast<double>(st.errors));
    r.add("unexpected_stanzas", static_cast<double>(st.unexpected));
    if (o.rate > 0) r.add("window_blocked", static_cast<double>(st.window_blocked));
    r.latency = st.delivery;
    r.add("latency_samples", static_cast<double>(st.delivery.count()));
    r.add("latency_p50_ms", st.delivery.percentile(50));
    r.add("latency_p99_ms", st.delivery.percentile(99));
    r.add("latency_max_ms", st.delivery.percentile(100));
    // The time until the last occupant had it: what a room's slowest member sees.
    r.add("complete_p50_ms", st.completion.percentile(50));
    r.add("complete_p99_ms", st.completion.percentile(99));
    if (sent > 0 && (st.delivered != sent * st.expected || st.duplicates || st.errors)) {
        r.note("verdict", "FAIL: lost or duplicated deliveries, or errors");
    }
    return r;
}

}  // namespace parley::bench
