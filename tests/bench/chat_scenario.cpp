// The chat scenario: pairs user0→user1, user2→user3, ... all logged in first (not
// measured). Each sender keeps `window` messages in flight: the receiver's handler,
// in this same process, lets its sender send the next one. Bodies are "seq t_ns", so
// the receiver measures latency and sees loss, duplicates and reordering.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "scenarios.hpp"

namespace parley::bench {

namespace asio = boost::asio;
using protocol::xml::Element;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Pair {
    BenchClient* sender = nullptr;
    BenchClient* receiver = nullptr;
    std::string to;
    std::string receiver_jid;  // kept: the clients are gone when the report is written
    std::uint64_t sent = 0, received = 0, duplicates = 0, reordered = 0, max_seen_plus1 = 0;
    std::vector<std::uint8_t> seen;  // by seq
};

struct ChatState {
    std::vector<Pair> pairs;
    std::vector<double> latencies_ms;  // of messages sent in the measured phase
    bool sending = false;
    double rate = 0;
    unsigned window = 16;
    std::uint64_t total_sent = 0, total_received = 0, errors = 0, unexpected = 0, window_blocked = 0;
    std::uint64_t misrouted = 0, offered = 0;
    bool debug = std::getenv("PARLEY_BENCH_DEBUG") != nullptr;
    std::uint64_t received_in_phase = 0;
    std::int64_t phase_start_ns = 0, phase_end_ns = 0;
    std::string first_error;

    // `stamp_ns` is when the message was due: with a fixed offered rate, a late send
    // counts in the latency (no coordinated omission); 0 = now.
    void send_next(Pair& p, std::int64_t stamp_ns = 0) {
        const std::uint64_t seq = p.sent++;
        ++total_sent;
        std::string xml = "<message type='chat' to='" + p.to + "' id='m" + std::to_string(seq) + "'><body>" +
                          std::to_string(seq) + " " + std::to_string(stamp_ns ? stamp_ns : now_ns()) +
                          "</body></message>";
        p.sender->send(std::move(xml));
    }

    void on_received(Pair& p, const Element& el) {
        if (el.name() != "message") return;
        if (el.attr("type") == "error") {
            note_error(el);
            return;
        }
        // A message from anyone but this pair's sender was routed to the wrong place.
        const std::string_view from = el.attr("from");
        const std::string& sender = p.sender->bare_jid();
        if (!from.starts_with(sender) || (from.size() > sender.size() && from[sender.size()] != '/')) {
            ++misrouted;
            if (misrouted <= 5) {
                std::fprintf(stderr, "misrouted: to %s from %s: %s\n", p.receiver->bare_jid().c_str(),
                             std::string(from).c_str(), el.child_text("body").c_str());
            }
            return;
        }
        const std::string body = el.child_text("body");
        std::uint64_t seq = 0;
        std::int64_t sent_ns = 0;
        const char* b = body.data();
        const char* e = b + body.size();
        auto r1 = std::from_chars(b, e, seq);
        if (r1.ec != std::errc() || r1.ptr == e) {
            ++unexpected;
            return;
        }
        auto r2 = std::from_chars(r1.ptr + 1, e, sent_ns);
        if (r2.ec != std::errc() || seq >= p.sent) {
            ++unexpected;
            return;
        }
        const std::int64_t now = now_ns();
        if (p.seen.size() <= seq) p.seen.resize(seq + 1024, 0);
        if (p.seen[seq]) {
            if (++p.duplicates <= 3 && debug) {
                std::fprintf(stderr, "duplicate: %s seq %llu id %s (highest seen %llu)\n", p.receiver->bare_jid().c_str(),
                             static_cast<unsigned long long>(seq), std::string(el.attr("id")).c_str(),
                             static_cast<unsigned long long>(p.max_seen_plus1));
            }
            return;
        }
        p.seen[seq] = 1;
        ++p.received;
        ++total_received;
        if (seq + 1 < p.max_seen_plus1 && ++p.reordered <= 3 && debug) {
            std::fprintf(stderr, "reordered: %s seq %llu after %llu\n", p.receiver->bare_jid().c_str(),
                         static_cast<unsigned long long>(seq), static_cast<unsigned long long>(p.max_seen_plus1 - 1));
        }
        p.max_seen_plus1 = std::max(p.max_seen_plus1, seq + 1);
        if (sent_ns >= phase_start_ns && (phase_end_ns == 0 || sent_ns < phase_end_ns)) {
            latencies_ms.push_back(static_cast<double>(now - sent_ns) / 1e6);
        }
        if (phase_end_ns == 0 && now >= phase_start_ns) ++received_in_phase;
        // Closed loop: a delivered message frees a window slot of its sender.
        if (sending && rate == 0 && p.sent - p.received < window) send_next(p);
    }

    void note_error(const Element& el) {
        if (++errors <= 3 && debug) {
            const Element* cond = el.find_child("error");
            std::fprintf(stderr, "error reply: from %s id %s: %s\n", std::string(el.attr("from")).c_str(),
                         std::string(el.attr("id")).c_str(),
                         cond && cond->first_child_element() ? cond->first_child_element()->name().c_str() : "?");
        }
    }

    std::uint64_t in_flight() const {
        std::uint64_t n = 0;
        for (const auto& p : pairs) n += p.sent - p.received;
        return n;
    }
};

// Open loop: offers `rate` messages/s in total, spread over the senders in turn; a
// message whose sender's window is full is not offered and is counted as blocked.
asio::awaitable<void> pace(ChatState* st, double stop_ms) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    const double start = now_ms();
    const std::int64_t start_ns = now_ns();
    std::uint64_t offered = 0;
    std::size_t next_pair = 0;
    while (st->sending && now_ms() < stop_ms) {
        const auto due = static_cast<std::uint64_t>((now_ms() - start) / 1000.0 * st->rate);
        while (offered < due) {
            const auto due_ns = start_ns + static_cast<std::int64_t>(static_cast<double>(offered) * 1e9 / st->rate);
            ++offered;
            Pair& p = st->pairs[next_pair];
            next_pair = (next_pair + 1) % st->pairs.size();
            if (p.sent - p.received < st->window) st->send_next(p, due_ns);
            else ++st->window_blocked;
        }
        st->offered = offered;
        // Messages go at the next tick, late by up to one tick (and stamped with their due
        // time, so it counts): a tick of one message interval, within [100 us, 1 ms].
        tick.expires_after(std::chrono::microseconds(std::clamp(static_cast<long>(1e6 / st->rate), 100L, 1000L)));
        co_await tick.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> sleep_ms(double ms) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::microseconds(static_cast<long>(ms * 1000)));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

Report run_chat(Env& env) {
    Report r;
    r.scenario = "chat";
    const auto& o = env.options;
    ChatState st;
    st.rate = o.rate;
    st.window = std::max(1u, o.window);
    const std::size_t npairs = o.connections / 2;
    run_to_completion(env, [&]() -> asio::awaitable<void> {
        const double login_start = now_ms();
        LoginBatch batch = co_await login_all(env, npairs * 2, true,
                                              login_start + std::max(o.duration_s, 60.0) * 1000);
        r.add("login_seconds", (now_ms() - login_start) / 1000);
        if (batch.failures > 0 || npairs == 0) {
            r.note("error", std::to_string(batch.failures) + " logins failed; first: " + batch.first_error);
            co_await close_all(env, batch.clients);
            co_return;
        }
        st.pairs.resize(npairs);
        for (std::size_t i = 0; i < npairs; ++i) {
            Pair& p = st.pairs[i];
            p.sender = batch.clients[2 * i].get();
            p.receiver = batch.clients[2 * i + 1].get();
            p.to = o.to_bare ? p.receiver->bare_jid() : p.receiver->full_jid();
            p.receiver_jid = p.receiver->bare_jid();
            p.receiver->start_reading([&st, &p](const Element& el) { st.on_received(p, el); });
            p.sender->start_reading([&st](const Element& el) {
                if (el.name() == "message" && el.attr("type") == "error") st.note_error(el);
            });
        }

        co_await phase_gate(env);
        const ProcSample before = sample_process(o.server_pid);
        const double self_before = self_cpu_ms();
        const double start = now_ms();
        const double stop = start + o.duration_s * 1000;
        st.phase_start_ns = now_ns();
        mark_phase(o, "start");
        st.sending = true;
        if (o.rate > 0) {
            co_await pace(&st, stop);
        } else {
            for (auto& p : st.pairs) {
                for (unsigned k = 0; k < st.window; ++k) st.send_next(p);
            }
            while (now_ms() < stop) co_await sleep_ms(std::min(50.0, stop - now_ms()));
        }
        st.sending = false;
        st.phase_end_ns = now_ns();
        // Nothing is sent after this: the count is final.
        mark_phase(o, "end", static_cast<std::int64_t>(st.total_sent));
        const double wall = now_ms() - start;
        const ProcSample after = sample_process(o.server_pid);
        phase_done(env);
        const std::uint64_t delivered = st.received_in_phase;
        add_process_figures(r, env, before, after, self_before, wall, delivered / 1000.0,
                            "server_cpu_ms_per_1000_msgs");
        r.add("pairs", static_cast<double>(npairs));
        r.add("window", st.window);
        r.add("offered_rate", o.rate);
        if (o.rate > 0) r.add("offered_in_phase", static_cast<double>(st.offered));
        r.add("seconds", wall / 1000);
        r.add("delivered_in_phase", static_cast<double>(delivered));
        r.add("delivered_per_s", wall > 0 ? delivered * 1000.0 / wall : 0);

        // Drain: wait for what is still in flight, up to drain_s.
        const double drain_stop = now_ms() + o.drain_s * 1000;
        while (st.in_flight() > 0 && now_ms() < drain_stop) co_await sleep_ms(10);
        std::size_t read_errors = 0;
        for (const auto& c : batch.clients) {
            if (!c || c->read_error().empty()) continue;
            if (++read_errors <= 3) {
                std::fprintf(stderr, "read error: %s: %s\n", c->bare_jid().c_str(), c->read_error().c_str());
            }
        }
        r.add("read_errors", static_cast<double>(read_errors));
        if (read_errors > 0) r.note("error", std::to_string(read_errors) + " connections failed while reading");
        co_await close_all(env, batch.clients);
    }());
    if (st.debug) {
        for (const auto& p : st.pairs) {
            int shown = 0;
            for (std::uint64_t q = 0; q < p.sent && shown < 5; ++q) {
                if (q >= p.seen.size() || !p.seen[q]) {
                    std::fprintf(stderr, "lost: %s seq %llu of %llu sent\n", p.receiver_jid.c_str(),
                                 static_cast<unsigned long long>(q), static_cast<unsigned long long>(p.sent));
                    ++shown;
                }
            }
        }
    }
    std::uint64_t dups = 0, reordered = 0;
    for (const auto& p : st.pairs) dups += p.duplicates, reordered += p.reordered;
    r.add("sent", static_cast<double>(st.total_sent));
    r.add("received", static_cast<double>(st.total_received));
    r.add("lost", static_cast<double>(st.total_sent - st.total_received));
    r.add("duplicated", static_cast<double>(dups));
    r.add("reordered", static_cast<double>(reordered));
    r.add("error_replies", static_cast<double>(st.errors));
    r.add("unexpected_stanzas", static_cast<double>(st.unexpected));
    r.add("misrouted", static_cast<double>(st.misrouted));
    if (o.rate > 0) r.add("window_blocked", static_cast<double>(st.window_blocked));
    for (double ms : st.latencies_ms) r.latency.add(ms);
    r.add("latency_samples", static_cast<double>(st.latencies_ms.size()));
    r.add("latency_p50_ms", percentile(st.latencies_ms, 50));
    r.add("latency_p99_ms", percentile(st.latencies_ms, 99));
    r.add("latency_max_ms", percentile(st.latencies_ms, 100));
    if (st.total_sent != st.total_received || dups || reordered || st.errors || st.misrouted) {
        r.note("verdict", "FAIL: loss, duplicates, reordering or errors");
    }
    return r;
}

}  // namespace parley::bench
