#pragma once
// The archive's write path (XEP-0313): routing hands rows here and never waits; writer
// threads, each with its own PostgreSQL connection, take up to batch_size rows at a
// time and write them with one archive_store::insert_batch. The queue is bounded:
// push() refuses (and counts) what does not fit, so memory stays bounded and the
// caller can tell the sender (resource-constraint). When PostgreSQL is unreachable a
// writer keeps its batch and retries with exponential back-off (up to max_backoff);
// nothing is dropped. drain() (SIGTERM) stops intake and writes everything queued.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/archive_store.hpp"

namespace parley::storage {

class ArchiveQueue {
public:
    struct Options {
        std::string conninfo;  // libpq connection string ("" = PG* environment)
        std::size_t capacity = 200000;
        std::size_t batch_size = 2000;
        unsigned writers = 2;
        std::chrono::milliseconds min_backoff{50};
        std::chrono::milliseconds max_backoff{5000};
    };
    struct Stats {
        std::uint64_t pushed = 0;     // rows accepted
        std::uint64_t written = 0;    // rows committed
        std::uint64_t rejected = 0;   // rows refused because the queue was full or stopped
        std::uint64_t retries = 0;    // failed batch attempts
        std::size_t queued = 0;       // rows accepted and not yet committed
    };

    explicit ArchiveQueue(Options options);
    ~ArchiveQueue();  // drain(0s) when still running
    ArchiveQueue(const ArchiveQueue&) = delete;
    ArchiveQueue& operator=(const ArchiveQueue&) = delete;

    // Starts the writers. Ids from next_id() are above `id_floor` (archive_store::max_id).
    void start(std::int64_t id_floor);

    // A unique, increasing id: at least the current time in Unix microseconds, and
    // above every id handed out before (and id_floor). Thread-safe, lock-free.
    std::int64_t next_id();

    // Queues all rows or none; false when they do not fit (or after drain()). Never blocks.
    bool push(std::vector<archive_store::Row> rows);
    bool push(archive_store::Row row);

    // True from half the capacity until the queue is down to a quarter, while writes
    // are committing (a batch in the last second): client sessions stop reading
    // meanwhile, so senders slow down to what PostgreSQL takes instead of running into
    // the bound (back-pressure). During an outage nothing commits: the queue fills and
    // refuses (resource-constraint) rather than stalling all routing. Lock-free.
    bool congested() const;

    // A ticket covering every row pushed so far, for wait_written.
    std::uint64_t ticket() const;
    // Blocks until every row pushed before `ticket` was taken is committed, or until the
    // timeout; true when written. For the database thread that answers a MAM query, so
    // that a query never misses a message already delivered.
    bool wait_written(std::uint64_t ticket, std::chrono::milliseconds timeout);

    // Stops intake, writes what is queued (retrying as usual) until `max_wait` passes,
    // then stops the writers. Returns the number of rows that could not be written
    // (logged by the caller). Idempotent.
    std::size_t drain(std::chrono::milliseconds max_wait);

    Stats stats() const;

private:
    struct Impl;  // writers, the queue, committed-prefix bookkeeping for tickets
    std::unique_ptr<Impl> impl_;
};

}  // namespace parley::storage
