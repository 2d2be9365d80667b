#include "storage/archive_queue.hpp"

#include "storage/connection_health.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace parley::storage {

namespace {

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct ArchiveQueue::Impl {
    Options options;
    std::atomic<std::int64_t> last_id{0};
    // Back-pressure with hysteresis: set at half the capacity, cleared at a quarter.
    std::atomic<bool> congested{false};
    // When the last batch committed (steady clock, ns): back-pressure only helps while
    // PostgreSQL is taking rows; during an outage the queue fills and refuses instead,
    // so that routing of everything else goes on.
    std::atomic<std::int64_t> last_commit_ns{0};
    void update_congestion() {  // with the mutex held
        if (stats.queued >= options.capacity / 2) congested.store(true, std::memory_order_relaxed);
        else if (stats.queued <= options.capacity / 4) congested.store(false, std::memory_order_relaxed);
    }

    mutable std::mutex mutex;
    std::condition_variable work_cv;     // writers: rows arrived, or drain/stop
    std::condition_variable written_cv;  // wait_written and drain: the watermark moved
    // Back-off sleeps wait here, not on work_cv, so that push's notify_one always
    // reaches a writer that can take the rows.
    std::condition_variable stop_cv;
    std::deque<archive_store::Row> rows;  // accepted, not yet taken by a writer
    Stats stats;
    // Every accepted row has a sequence number (pushed order). Writers take rows from
    // the front, so each batch is a contiguous range; batches commit in any order, and
    // `committed` is the end of the contiguous committed prefix (what tickets wait for).
    std::uint64_t next_seq = 0;      // sequence of the next row pushed (= ticket)
    std::uint64_t taken_seq = 0;     // sequence of rows.front()
    std::uint64_t committed = 0;
    std::map<std::uint64_t, std::uint64_t> done_ranges;  // committed ranges above the prefix
    bool closing = false;   // drain(): no intake; writers leave once the queue is empty
    bool stopping = false;  // drain's deadline: writers leave now, keeping their batch
    bool drained = false;
    std::vector<std::thread> writers;

    void writer_loop();
    bool write_once(std::optional<pqxx::connection>& conn, const std::vector<archive_store::Row>& batch);
    void batch_committed(std::uint64_t begin, std::uint64_t end);
};

// Called with the mutex held.
void ArchiveQueue::Impl::batch_committed(std::uint64_t begin, std::uint64_t end) {
    const std::size_t n = static_cast<std::size_t>(end - begin);
    stats.written += n;
    stats.queued -= n;
    update_congestion();
    last_commit_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    if (begin != committed) {
        done_ranges.emplace(begin, end);
        return;
    }
    committed = end;
    for (auto it = done_ranges.begin(); it != done_ranges.end() && it->first == committed;
         it = done_ranges.erase(it))
        committed = it->second;
    written_cv.notify_all();
}

bool ArchiveQueue::Impl::write_once(std::optional<pqxx::connection>& conn,
                                    const std::vector<archive_store::Row>& batch) {
    try {
        if (conn && !idle_connection_alive(*conn)) conn.reset();  // closed while idle (a restart)
        if (!conn) conn.emplace(options.conninfo);
        archive_store::insert_batch(*conn, batch);
        return true;
    } catch (const pqxx::broken_connection&) {
        conn.reset();
    } catch (const std::exception&) {
        // An error in a statement leaves a usable connection, but one that broke in
        // the middle may not say so by type: remake anything that is not open.
        if (conn && !conn->is_open()) conn.reset();
    }
    return false;
}

void ArchiveQueue::Impl::writer_loop() {
    std::optional<pqxx::connection> conn;  // made lazily, remade after it breaks
    std::vector<archive_store::Row> batch;
    for (;;) {
        std::uint64_t begin = 0;
        {
            std::unique_lock lock(mutex);
            work_cv.wait(lock, [&] { return stopping || closing || !rows.empty(); });
            if (stopping || rows.empty()) return;  // rows.empty() here means closing
            const std::size_t n = std::min(rows.size(), std::max<std::size_t>(options.batch_size, 1));
            batch.assign(std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.begin() + n));
            rows.erase(rows.begin(), rows.begin() + n);
            begin = taken_seq;
            taken_seq += n;
        }
        auto backoff = options.min_backoff;
        while (!write_once(conn, batch)) {
            std::unique_lock lock(mutex);
            ++stats.retries;
            // A drain that ran out of time wakes us at once; the batch stays unwritten
            // (still counted in stats.queued, which drain returns).
            if (stop_cv.wait_for(lock, backoff, [&] { return stopping; })) return;
            backoff = std::min(backoff * 2, options.max_backoff);
        }
        std::lock_guard lock(mutex);
        batch_committed(begin, begin + batch.size());
    }
}

ArchiveQueue::ArchiveQueue(Options options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    if (impl_->options.min_backoff <= std::chrono::milliseconds::zero())
        impl_->options.min_backoff = std::chrono::milliseconds(1);
    impl_->options.max_backoff = std::max(impl_->options.max_backoff, impl_->options.min_backoff);
}

ArchiveQueue::~ArchiveQueue() {
    bool drained;
    {
        std::lock_guard lock(impl_->mutex);
        drained = impl_->drained;
    }
    if (!drained) drain(std::chrono::milliseconds::zero());
}

void ArchiveQueue::start(std::int64_t id_floor) {
    std::int64_t cur = impl_->last_id.load();
    while (cur < id_floor && !impl_->last_id.compare_exchange_weak(cur, id_floor)) {
    }
    std::lock_guard lock(impl_->mutex);
    if (!impl_->writers.empty() || impl_->closing) return;
    for (unsigned i = 0; i < std::max(impl_->options.writers, 1u); ++i)
        impl_->writers.emplace_back([impl = impl_.get()] { impl->writer_loop(); });
}

std::int64_t ArchiveQueue::next_id() {
    std::int64_t cur = impl_->last_id.load(std::memory_order_relaxed);
    for (;;) {
        const std::int64_t id = std::max(now_us(), cur + 1);
        if (impl_->last_id.compare_exchange_weak(cur, id, std::memory_order_relaxed)) return id;
    }
}

bool ArchiveQueue::push(std::vector<archive_store::Row> rows) {
    if (rows.empty()) return true;
    {
        std::lock_guard lock(impl_->mutex);
        auto& s = impl_->stats;
        if (impl_->closing || s.queued + rows.size() > impl_->options.capacity) {
            s.rejected += rows.size();
            return false;
        }
        s.pushed += rows.size();
        s.queued += rows.size();
        impl_->next_seq += rows.size();
        for (auto& r : rows) impl_->rows.push_back(std::move(r));
        impl_->update_congestion();
    }
    impl_->work_cv.notify_one();
    return true;
}

bool ArchiveQueue::push(archive_store::Row row) {
    std::vector<archive_store::Row> rows;
    rows.push_back(std::move(row));
    return push(std::move(rows));
}

bool ArchiveQueue::congested() const {
    if (!impl_->congested.load(std::memory_order_relaxed)) return false;
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    return now - impl_->last_commit_ns.load(std::memory_order_relaxed) < 1'000'000'000;
}

std::uint64_t ArchiveQueue::ticket() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->next_seq;
}

bool ArchiveQueue::wait_written(std::uint64_t ticket, std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->written_cv.wait_for(lock, timeout, [&] { return impl_->committed >= ticket; });
}

std::size_t ArchiveQueue::drain(std::chrono::milliseconds max_wait) {
    std::vector<std::thread> writers;
    {
        std::unique_lock lock(impl_->mutex);
        if (impl_->drained) return impl_->stats.queued;
        impl_->closing = true;
        impl_->work_cv.notify_all();
        if (!impl_->writers.empty())
            impl_->written_cv.wait_for(lock, max_wait, [&] { return impl_->stats.queued == 0; });
        impl_->stopping = true;
        impl_->drained = true;
        impl_->work_cv.notify_all();
        impl_->stop_cv.notify_all();
        writers.swap(impl_->writers);
    }
    // A writer in the middle of a statement finishes it (its rows count if it commits).
    for (auto& t : writers) t.join();
    std::lock_guard lock(impl_->mutex);
    return impl_->stats.queued;
}

ArchiveQueue::Stats ArchiveQueue::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

}  // namespace parley::storage
