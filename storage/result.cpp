#include "storage/result.hpp"

namespace parley::storage {
namespace {

class StorageCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "parley.storage"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::unavailable:
                return "database unavailable";
            case errc::query_failed:
                return "database query failed";
            case errc::conflict:
                return "already exists";
            case errc::not_found:
                return "not found";
        }
        return "unknown storage error";
    }
};

}  // namespace

const boost::system::error_category& storage_category() {
    static const StorageCategory category;
    return category;
}

}  // namespace parley::storage
