#pragma once
// Knows whether the running doctest test case has failed, so that the harness can print
// the server's log (and the clients' logs) exactly when they are needed.

namespace parley::test {

// True once any assertion of the current test case has failed or it has thrown.
bool current_test_failed();

}  // namespace parley::test
