#pragma once
// A client's side of entity capabilities (XEP-0115) in tests: the ver of a fixed
// identity with some features, presence that advertises it, and the answer to the
// disco#info query a server sends to verify it.
#include <chrono>
#include <string>
#include <vector>

#include "support/test_client.hpp"

namespace parley::test {

// §5.1 ver (SHA-1) of the identity client/pc "parley-test" with these features.
std::string caps_ver(std::vector<std::string> features);

// Waits for one disco#info query for that ver (from any server, or only from `from`
// when it is not empty) and answers it. FAILs the test when none comes.
void answer_caps_query(TestClient& client, const std::vector<std::string>& features, const std::string& from = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Sends available presence advertising those caps, and answers the server's query for
// them when `expect_query` (it asks none when it has verified the ver before).
void advertise_caps(TestClient& client, const std::vector<std::string>& features, bool expect_query = true);

}  // namespace parley::test
