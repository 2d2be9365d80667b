#include "support/test_failures.hpp"

#include <atomic>
#include <csignal>

#include <doctest/doctest.h>

namespace parley::test {
namespace {

std::atomic<bool> g_failed{false};

// A peer that closes while we write (libstrophe, SSL_write) must be a failed write, not
// the death of the whole test run by SIGPIPE.
const bool g_sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

// A listener, not a reporter: it only watches the assertions and prints nothing.
class FailureListener : public doctest::IReporter {
public:
    explicit FailureListener(const doctest::ContextOptions&) {}

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { g_failed = false; }
    void test_case_reenter(const doctest::TestCaseData&) override { g_failed = false; }
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override { g_failed = true; }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& data) override {
        if (data.m_failed) g_failed = true;
    }
    void log_message(const doctest::MessageData& data) override {
        if ((data.m_severity & doctest::assertType::is_warn) == 0) g_failed = true;
    }
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

bool current_test_failed() { return g_failed; }

}  // namespace parley::test

REGISTER_LISTENER("parley_failures", 1, parley::test::FailureListener);
