#pragma once
// PostgreSQL access on dedicated database threads (libpqxx is blocking, so it never
// runs on an I/O thread). Each thread owns one connection, made lazily and remade
// after a failure. `run(key, fn)` runs fn on thread hash(key), so all work for one
// key is ordered, and completes on the caller's executor.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <functional>
#include <future>
#include <type_traits>
#include <vector>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "storage/result.hpp"

namespace parley::storage {

class Database {
public:
    // conninfo: a libpq connection string; "" uses libpq's defaults and PG* variables.
    Database(std::string conninfo, unsigned threads);
    ~Database();  // finishes queued work, then joins the threads
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs fn(pqxx::connection&) -> T on the database thread chosen by `key`.
    // A pqxx::broken_connection becomes errc::unavailable, any other exception
    // errc::query_failed (logged by the caller), a pqxx::unique_violation errc::conflict.
    template <class T, class Fn, class Token>
    auto run(std::string_view key, Fn fn, Token&& token) {
        return boost::asio::async_initiate<Token, void(Result<T>)>(
            [this, shard = shard_for(key), fn = std::move(fn)](auto handler) mutable {
                // The work guard keeps the caller's io_context from running out of
                // work (and returning from run()) while the job waits in the queue.
                auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
                submit(shard, [fn = std::move(fn), handler = std::move(handler),
                               work = std::move(work)](pqxx::connection* conn,
                                                       boost::system::error_code ec) mutable {
                    Result<T> r = invoke<T>(fn, conn, ec);
                    auto ex = work.get_executor();
                    boost::asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
                        handler(std::move(r));
                    });
                    work.reset();
                });
            },
            token);
    }

    // Blocking form for the CLI and start-up; must not be called on a database thread.
    template <class T, class Fn>
    Result<T> run_sync(std::string_view key, Fn fn);

    // Applies pending migrations (on one thread, under an advisory lock).
    Result<void> migrate();

    unsigned threads() const;
    const std::string& conninfo() const { return conninfo_; }

private:
    struct Shard;
    // The job gets the connection (nullptr when ec says it is unavailable). Move-only,
    // unlike std::function, because completion handlers (use_awaitable's) are.
    class Job {
    public:
        Job() = default;
        template <class F>
            requires(!std::is_same_v<std::decay_t<F>, Job>)
        Job(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}
        void operator()(pqxx::connection* c, boost::system::error_code ec) { impl_->call(c, ec); }

    private:
        struct Base {
            virtual ~Base() = default;
            virtual void call(pqxx::connection*, boost::system::error_code) = 0;
        };
        template <class F>
        struct Impl final : Base {
            explicit Impl(F f) : f_(std::move(f)) {}
            void call(pqxx::connection* c, boost::system::error_code ec) override { f_(c, ec); }
            F f_;
        };
        std::unique_ptr<Base> impl_;
    };
    std::size_t shard_for(std::string_view key) const;
    void submit(std::size_t shard, Job job);

    template <class T, class Fn>
    static Result<T> invoke(Fn& fn, pqxx::connection* conn, boost::system::error_code ec);

    std::string conninfo_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

// ---- templates --------------------------------------------------------------------
// Classifies the exception in flight as a storage error code, and remembers its
// message for last_error_message().
boost::system::error_code classify_current_exception();
// The message of the most recent exception classified on any database thread
// (diagnostics for the CLI and start-up; a server logs its own context instead).
std::string last_error_message();

template <class T, class Fn>
Result<T> Database::invoke(Fn& fn, pqxx::connection* conn, boost::system::error_code ec) {
    // in_place_*: Result<bool> cannot be made implicitly from an error_code (a bool
    // is constructible from one).
    using boost::system::in_place_error;
    if (ec) return Result<T>(in_place_error, ec);
    try {
        if constexpr (std::is_void_v<T>) {
            fn(*conn);
            return {};
        } else {
            return Result<T>(boost::system::in_place_value, fn(*conn));
        }
    } catch (...) {
        return Result<T>(in_place_error, classify_current_exception());
    }
}

template <class T, class Fn>
Result<T> Database::run_sync(std::string_view key, Fn fn) {
    std::promise<Result<T>> done;
    auto fut = done.get_future();
    submit(shard_for(key), [&](pqxx::connection* conn, boost::system::error_code ec) {
        done.set_value(invoke<T>(fn, conn, ec));
    });
    return fut.get();
}

}  // namespace parley::storage
