#include "ferry/control/metrics.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(Metrics, PrometheusTextFromTheStatsDocuments) {
  const auto stats = nlohmann::json::parse(R"({
    "dataplanes": [{"id": 0, "rx_packets": 7, "tx_packets": 5, "rx_gro_trains": 3, "stalled": true,
                     "stalls": 2, "steered_away": true, "resteers": 2}],
    "interfaces": [{"name": "we\"st", "rx_packets": 7, "rx_bytes": 700, "tx_packets": 0, "tx_bytes": 0,
                    "bfd_rx": 2, "icmp_tx": 0, "icmp_rate_limited": 0, "icmp_send_errors": 4, "rx_queue_overflow": 1,
                    "rx_gro_trains": 3, "rx_gro_cut": 0, "rx_no_buffer": 5,
                    "drops": {"no_route": 3, "bad_source": 0}}]
  })");
  const auto interfaces = nlohmann::json::parse(R"([{"name": "we\"st", "up": false}])");
  const auto bfd = nlohmann::json::parse(
      R"({"sessions": [{"interface": "we\"st", "state": "down", "transitions": 4, "detection_time_us": 150000,
          "flaps_damped": 2, "discards": {"auth_failed": 6, "auth_key_id_mismatch": 0}, "peer_key_id": 3},
          {"interface": "east", "state": "up", "peer_key_id": null}]})");
  const auto routes = nlohmann::json::parse(R"({"routes": [{"prefix": "10.0.0.0/8", "packets": 9}]})");
  const std::string text = prometheusText(stats, interfaces, bfd, routes);
  for (const char* line : {
           "# TYPE ferry_rx_packets_total counter\n",
           "ferry_rx_packets_total{interface=\"we\\\"st\"} 7\n",
           "ferry_rx_bytes_total{interface=\"we\\\"st\"} 700\n",
           "ferry_rx_queue_overflow_total{interface=\"we\\\"st\"} 1\n",
           "ferry_drops_total{interface=\"we\\\"st\",reason=\"no_route\"} 3\n",
           "ferry_drops_total{interface=\"we\\\"st\",reason=\"bad_source\"} 0\n",
           "ferry_dataplane_rx_packets_total{dataplane=\"0\"} 7\n",
           "ferry_dataplane_stalled{dataplane=\"0\"} 1\n",
           "ferry_dataplane_stalls_total{dataplane=\"0\"} 2\n",
           "ferry_dataplane_steered_away{dataplane=\"0\"} 1\n",
           "ferry_dataplane_resteers_total{dataplane=\"0\"} 2\n",
           "ferry_rx_gro_trains_total{interface=\"we\\\"st\"} 3\n",
           "ferry_rx_gro_cut_total{interface=\"we\\\"st\"} 0\n",
           "ferry_rx_no_buffer_total{interface=\"we\\\"st\"} 5\n",
           "ferry_icmp_send_errors_total{interface=\"we\\\"st\"} 4\n",
           "ferry_dataplane_rx_gro_trains_total{dataplane=\"0\"} 3\n",
           "ferry_interface_up{interface=\"we\\\"st\"} 0\n",
           "ferry_bfd_session_up{interface=\"we\\\"st\"} 0\n",
           "ferry_bfd_transitions_total{interface=\"we\\\"st\"} 4\n",
           "ferry_bfd_detection_time_microseconds{interface=\"we\\\"st\"} 150000\n",
           "ferry_bfd_flaps_damped_total{interface=\"we\\\"st\"} 2\n",
           "ferry_bfd_discards_total{interface=\"we\\\"st\",reason=\"auth_failed\"} 6\n",
           "ferry_bfd_discards_total{interface=\"we\\\"st\",reason=\"auth_key_id_mismatch\"} 0\n",
           "ferry_bfd_peer_key_id{interface=\"we\\\"st\"} 3\n",
           "ferry_route_packets_total{prefix=\"10.0.0.0/8\"} 9\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  // Each family is declared once.
  size_t types = 0;
  for (size_t at = 0; (at = text.find("# TYPE ferry_drops_total ", at)) != std::string::npos; ++at) ++types;
  EXPECT_EQ(types, 1u);
  // No peer key yet (or no authentication): no series, not a made-up 0.
  EXPECT_EQ(text.find("ferry_bfd_peer_key_id{interface=\"east\"}"), std::string::npos) << text;
  EXPECT_EQ(text.find("ferry_bfd_discards_total{interface=\"east\""), std::string::npos) << text;
  // A document without a counter (an older daemon's) gives 0, never a crash.
  const std::string older = prometheusText(nlohmann::json::parse(R"({"dataplanes": [{"id": 1}],
      "interfaces": [{"name": "x", "drops": {}}]})"), interfaces, nullptr, nullptr);
  EXPECT_NE(older.find("ferry_rx_gro_trains_total{interface=\"x\"} 0\n"), std::string::npos) << older;
  EXPECT_NE(older.find("ferry_dataplane_rx_gro_trains_total{dataplane=\"1\"} 0\n"), std::string::npos);
  // Without BFD or routes those families are absent.
  const std::string plain = prometheusText(stats, interfaces, nullptr, nullptr);
  EXPECT_EQ(plain.find("ferry_bfd_session_up"), std::string::npos);
  EXPECT_EQ(plain.find("ferry_route_"), std::string::npos);
}

TEST(Metrics, RouteSourcesAndTheFpmSession) {
  const auto routes = nlohmann::json::parse(R"({"routes": [], "sources": {"config": 2, "fpm": 5},
      "fpm": {"state": "resyncing", "connects": 2, "messages": 40, "errors": 1, "ignored": 3, "batches": 4,
              "tries_patched": 7, "tries_built": 1, "routes_left_out": 1, "stale_swept": 6, "last_build_us": 1500, "last_update_unix_ms": 1700000000000}})");
  const auto stats = nlohmann::json::parse(R"({"dataplanes": [], "interfaces": []})");
  const std::string text = prometheusText(stats, nlohmann::json::array(), nullptr, routes);
  for (const char* line : {
           "ferry_routes{source=\"config\"} 2\n",
           "ferry_routes{source=\"fpm\"} 5\n",
           "ferry_fpm_connected{} 1\n",
           "ferry_fpm_connects_total{} 2\n",
           "ferry_fpm_messages_total{} 40\n",
           "ferry_fpm_errors_total{} 1\n",
           "ferry_fpm_ignored_total{} 3\n",
           "ferry_fpm_batches_total{} 4\n",
           "ferry_fpm_tries_total{how=\"patched\"} 7\n",
           "ferry_fpm_tries_total{how=\"built\"} 1\n",
           "ferry_fpm_routes_left_out{} 1\n",
           "ferry_fpm_stale_swept_total{} 6\n",
           "ferry_fpm_last_build_microseconds{} 1500\n",
           "ferry_fpm_last_update_timestamp_milliseconds{} 1700000000000\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  // An fpm object with missing keys (an older daemon's) gives zeros, never a crash.
  const std::string older = prometheusText(stats, nlohmann::json::array(), nullptr,
                                           nlohmann::json::parse(R"({"routes": [], "fpm": {}})"));
  EXPECT_NE(older.find("ferry_fpm_connected{} 0\n"), std::string::npos) << older;
}

TEST(Metrics, HttpResponses) {
  EXPECT_EQ(httpResponse("GET /metrics HTTP/1.1", "a 1\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 4\r\nConnection: close\r\n\r\na 1\n");
  EXPECT_EQ(httpResponse("HEAD /metrics HTTP/1.1", "a 1\n").find("a 1"), std::string::npos);
  EXPECT_EQ(httpResponse("GET / HTTP/1.1", "x").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(httpResponse("POST /metrics HTTP/1.1", "x").rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_EQ(httpResponse("", "x").rfind("HTTP/1.1 405", 0), 0u);
}

}  // namespace
}  // namespace ferry
