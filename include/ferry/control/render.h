// Human-readable tables of the control socket's JSON replies, shared by
// ferryctl and ferryd's final counters so both read the same; and the JSON
// of `show bfd`, built from the BFD sessions and their transport.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ferry {

class BfdSessions;
class BfdTransport;

// Left-aligned columns separated by two spaces; the header row first.
std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// "show stats": dataplanes, interfaces, then every non-zero drop reason.
std::string renderStats(const nlohmann::json& stats);
std::string renderDataplanes(const nlohmann::json& dataplanes);
std::string renderInterfaces(const nlohmann::json& interfaces);
std::string renderBfd(const nlohmann::json& bfd);
// `show bfd`: {"sessions": [...], "unmatched": {...}}, one object per
// session with its status and counters, and what reached no session (keys
// documented in the README). `now_us`: the BFD clock (CLOCK_MONOTONIC µs),
// for ages and hold-downs left.
nlohmann::json bfdJson(const BfdSessions& sessions, const BfdTransport& transport, uint64_t now_us);
std::string renderRoutes(const nlohmann::json& routes);
// Any reply whose shape has no table of its own: indented JSON.
std::string renderGeneric(const nlohmann::json& reply);

}  // namespace ferry
