#pragma once
#include <string_view>
#include <vector>

namespace parley::storage {
struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};
// Every file of storage/migrations/, in order (generated at build time).
const std::vector<Migration>& migrations();
}  // namespace parley::storage
