#pragma once
// Every account's XEP-0313 preferences in memory: the archive hooks are synchronous
// and run for every message, so they must not read storage. Loaded at start-up,
// written through on change. Thread-safe.
#include <map>
#include <shared_mutex>
#include <string>

#include "server/modules/mam/mam_policy.hpp"

namespace parley::server::modules::mam {

class PrefsCache {
public:
    explicit PrefsCache(std::string default_mode) : default_mode_(std::move(default_mode)) {}
    // The account's preferences, or the configured default.
    Prefs get(const std::string& account) const {
        std::shared_lock lock(mutex_);
        auto it = prefs_.find(account);
        if (it != prefs_.end()) return it->second;
        Prefs p;
        p.default_mode = default_mode_;
        return p;
    }
    Decision decide(const std::string& account, std::string_view other_bare) const {
        std::shared_lock lock(mutex_);
        auto it = prefs_.find(account);
        if (it != prefs_.end()) return mam::decide(it->second, other_bare);
        Prefs p;
        p.default_mode = default_mode_;
        return mam::decide(p, other_bare);
    }
    void set(const std::string& account, Prefs prefs) {
        std::unique_lock lock(mutex_);
        prefs_[account] = std::move(prefs);
    }

private:
    std::string default_mode_;
    mutable std::shared_mutex mutex_;
    std::map<std::string, Prefs, std::less<>> prefs_;
};

}  // namespace parley::server::modules::mam
