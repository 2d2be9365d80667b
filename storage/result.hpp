#pragma once
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <string>

namespace parley::storage {

enum class errc {
    unavailable = 1,  // could not reach PostgreSQL (connection refused or broken)
    query_failed,     // the statement failed (a bug, a constraint, a schema mismatch)
    conflict,         // a unique key already exists (account exists, ...)
    not_found,
};
const boost::system::error_category& storage_category();
inline boost::system::error_code make_error_code(errc e) {
    return {static_cast<int>(e), storage_category()};
}

template <class T>
using Result = boost::system::result<T>;

}  // namespace parley::storage

template <>
struct boost::system::is_error_code_enum<parley::storage::errc> : std::true_type {};
