// The metrics endpoint's text: Prometheus exposition format 0.0.4, built from
// the same JSON documents that ferryctl shows, so the two never disagree.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ferry {

// `stats`: statsJson(); `bfd`: BfdController::showJson() or null; `routes`:
// routesJson() or null; `interfaces`: interfacesJson().
std::string prometheusText(const nlohmann::json& stats, const nlohmann::json& interfaces,
                           const nlohmann::json& bfd, const nlohmann::json& routes);

// A complete HTTP/1.1 response for one request line: 200 with `body` for
// "GET /metrics", 404 for other paths, 405 for other methods.
std::string httpResponse(const std::string& request_line, const std::string& body);

}  // namespace ferry
