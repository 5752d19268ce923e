// Human-readable tables of the control socket's JSON replies, shared by
// ferryctl and ferryd's final counters so both read the same.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ferry {

// Left-aligned columns separated by two spaces; the header row first.
std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// "show stats": dataplanes, interfaces, then every non-zero drop reason.
std::string renderStats(const nlohmann::json& stats);
std::string renderDataplanes(const nlohmann::json& dataplanes);
std::string renderInterfaces(const nlohmann::json& interfaces);
std::string renderBfd(const nlohmann::json& bfd);
std::string renderRoutes(const nlohmann::json& routes);
// Any reply whose shape has no table of its own: indented JSON.
std::string renderGeneric(const nlohmann::json& reply);

}  // namespace ferry
