#include "storage/database.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/connection_health.hpp"
#include "storage/migrations.hpp"

namespace parley::storage {

namespace {

std::mutex last_error_mutex;
std::string last_error;

void remember_error(std::string message) {
    std::lock_guard lock(last_error_mutex);
    last_error = std::move(message);
}

// A fixed key for pg_advisory_xact_lock, so that two processes migrating the same
// database at once take turns ("parley" in ASCII).
constexpr long long migration_lock_key = 0x7061726c6579;

// After a failed connect, jobs fail at once for this long instead of each waiting
// for its own connect attempt (a TCP connect to a dead host can take minutes).
constexpr auto reconnect_pause = std::chrono::milliseconds(500);

}  // namespace

boost::system::error_code classify_current_exception() {
    try {
        throw;
    } catch (const pqxx::broken_connection& e) {
        remember_error(e.what());
        return errc::unavailable;
    } catch (const pqxx::unique_violation& e) {
        remember_error(e.what());
        return errc::conflict;
    } catch (const std::exception& e) {
        remember_error(e.what());
        return errc::query_failed;
    } catch (...) {
        remember_error("unknown exception");
        return errc::query_failed;
    }
}

std::string last_error_message() {
    std::lock_guard lock(last_error_mutex);
    return last_error;
}

// One database thread: a queue of jobs and the connection they share.
struct Database::Shard {
    explicit Shard(const std::string& conninfo) : conninfo_(conninfo) {
        thread_ = std::thread([this] { loop(); });
    }
    ~Shard() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void push(Job job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        wake_.notify_one();
    }

private:
    void loop() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (jobs_.empty()) return;  // stopping, and the queue is drained
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            boost::system::error_code ec = connect();
            job(ec ? nullptr : conn_.get(), ec);
            // A job that hit a broken connection leaves it closed: drop it, and the
            // next job connects afresh.
            if (conn_ && !conn_->is_open()) conn_.reset();
        }
    }

    boost::system::error_code connect() {
        if (conn_ && !idle_connection_alive(*conn_)) conn_.reset();  // it died while idle: start afresh
        if (conn_) return {};
        auto now = std::chrono::steady_clock::now();
        if (failed_at_ && now - *failed_at_ < reconnect_pause) return errc::unavailable;
        try {
            conn_ = std::make_unique<pqxx::connection>(conninfo_);
            failed_at_.reset();
            return {};
        } catch (...) {
            failed_at_ = now;
            auto ec = classify_current_exception();
            // A malformed conninfo is as unreachable as a dead server.
            return ec == errc::query_failed ? make_error_code(errc::unavailable) : ec;
        }
    }

    const std::string& conninfo_;
    std::unique_ptr<pqxx::connection> conn_;
    std::optional<std::chrono::steady_clock::time_point> failed_at_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after everything above exists
};

Database::Database(std::string conninfo, unsigned threads) : conninfo_(std::move(conninfo)) {
    if (threads == 0) threads = 1;
    shards_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) shards_.push_back(std::make_unique<Shard>(conninfo_));
}

Database::~Database() = default;  // each Shard drains its queue and joins

unsigned Database::threads() const { return static_cast<unsigned>(shards_.size()); }

std::size_t Database::shard_for(std::string_view key) const {
    return std::hash<std::string_view>{}(key) % shards_.size();
}

void Database::submit(std::size_t shard, Job job) { shards_[shard]->push(std::move(job)); }

Result<void> Database::migrate() {
    return run_sync<void>("", [](pqxx::connection& c) {
        for (const Migration& m : migrations()) {
            // Each migration in its own transaction, under a lock held until commit,
            // so a second process waits and then sees the version recorded.
            pqxx::work w(c, "migrate");
            w.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
            w.exec0(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version int PRIMARY KEY,"
                " name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())");
            auto done = w.exec_params("SELECT 1 FROM schema_version WHERE version = $1", m.version);
            if (!done.empty()) {
                w.commit();
                continue;
            }
            w.exec(std::string(m.sql));
            w.exec_params0("INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.version,
                           std::string(m.name));
            w.commit();
        }
    });
}

}  // namespace parley::storage
