#include "ferry/control/metrics.h"

#include <sstream>

namespace ferry {
namespace {

// Label values escape backslash, quote and newline (exposition format).
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  // Each metric family once: HELP and TYPE, then its samples.
  void family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const std::string& labels, uint64_t value) {
    out_ << name << "{" << labels << "} " << value << "\n";
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

uint64_t number(const nlohmann::json& v) { return v.is_number() ? v.get<uint64_t>() : 0; }
// `object[key]` as a number; 0 when the key is missing (const operator[]
// must not be asked for a missing key).
uint64_t field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it == object.end() ? 0 : number(*it);
}
// A gauge from a boolean key: 1 when present and true.
uint64_t flag(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>() ? 1 : 0;
}

}  // namespace

std::string prometheusText(const nlohmann::json& stats, const nlohmann::json& interfaces,
                           const nlohmann::json& bfd, const nlohmann::json& routes) {
  Writer w;
  struct CounterSpec {
    const char* key;
    const char* name;
    const char* help;
  };
  const CounterSpec per_interface[] = {
      {"rx_packets", "ferry_rx_packets_total", "Datagrams received."},
      {"rx_bytes", "ferry_rx_bytes_total", "UDP payload bytes received."},
      {"tx_packets", "ferry_tx_packets_total", "Datagrams sent (forwarded)."},
      {"tx_bytes", "ferry_tx_bytes_total", "UDP payload bytes sent."},
      {"bfd_rx", "ferry_bfd_rx_packets_total", "BFD packets handed to the control module."},
      {"rx_gro_trains", "ferry_rx_gro_trains_total",
       "Receives with UDP GRO on (rx_packets / rx_gro_trains = datagrams per train)."},
      {"rx_gro_cut", "ferry_rx_gro_cut_total", "GRO trains larger than their buffer (dropped)."},
      {"rx_no_buffer", "ferry_rx_no_buffer_total",
       "Times the buffer ring ran dry and receiving paused (not a drop)."},
      {"rx_rescued", "ferry_rx_rescued_total",
       "Datagrams received on a stalled dataplane's socket by another dataplane."},
      {"icmp_tx", "ferry_icmp_tx_total", "ICMP errors sent."},
      {"icmp_rate_limited", "ferry_icmp_rate_limited_total",
       "ICMP errors suppressed by the rate limit."},
      {"icmp_send_errors", "ferry_icmp_send_errors_total",
       "ICMP errors the kernel refused to send (lost)."},
      {"rx_queue_overflow", "ferry_rx_queue_overflow_total",
       "Datagrams the kernel dropped at full socket receive queues."},
  };
  for (const auto& c : per_interface) {
    w.family(c.name, "counter", c.help);
    for (const auto& i : stats["interfaces"])
      w.sample(c.name, "interface=\"" + label(i["name"]) + "\"", field(i, c.key));
  }
  w.family("ferry_drops_total", "counter", "Datagrams not forwarded, by reason.");
  for (const auto& i : stats["interfaces"])
    for (auto it = i["drops"].begin(); it != i["drops"].end(); ++it)
      w.sample("ferry_drops_total",
               "interface=\"" + label(i["name"]) + "\",reason=\"" + label(it.key()) + "\"",
               number(it.value()));
  w.family("ferry_dataplane_rx_packets_total", "counter", "Datagrams received per dataplane.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_rx_packets_total",
             "dataplane=\"" + std::to_string(field(d, "id")) + "\"", field(d, "rx_packets"));
  w.family("ferry_dataplane_rx_gro_trains_total", "counter", "Receives with UDP GRO on per dataplane.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_rx_gro_trains_total",
             "dataplane=\"" + std::to_string(field(d, "id")) + "\"", field(d, "rx_gro_trains"));
  w.family("ferry_dataplane_stalled", "gauge",
           "1 while the dataplane makes no loop turn although datagrams wait on its sockets.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_stalled", "dataplane=\"" + std::to_string(field(d, "id")) + "\"",
             flag(d, "stalled"));
  w.family("ferry_dataplane_stalls_total", "counter", "Times the dataplane became stalled.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_stalls_total", "dataplane=\"" + std::to_string(field(d, "id")) + "\"",
             field(d, "stalls"));
  w.family("ferry_dataplane_steered_away", "gauge",
           "1 while the dataplane's share of new datagrams is steered to the other dataplanes.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_steered_away", "dataplane=\"" + std::to_string(field(d, "id")) + "\"",
             flag(d, "steered_away"));
  w.family("ferry_dataplane_resteers_total", "counter",
           "Times the dataplane's share was moved to the other dataplanes (re-steered away).");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_resteers_total", "dataplane=\"" + std::to_string(field(d, "id")) + "\"",
             field(d, "resteers"));
  w.family("ferry_dataplane_rx_rescued_total", "counter",
           "Datagrams the dataplane received on stalled dataplanes' sockets.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_rx_rescued_total",
             "dataplane=\"" + std::to_string(field(d, "id")) + "\"", field(d, "rx_rescued"));
  w.family("ferry_dataplane_tx_packets_total", "counter", "Datagrams sent per dataplane.");
  for (const auto& d : stats["dataplanes"])
    w.sample("ferry_dataplane_tx_packets_total",
             "dataplane=\"" + std::to_string(field(d, "id")) + "\"", field(d, "tx_packets"));
  w.family("ferry_interface_up", "gauge", "1 when the interface is used for forwarding.");
  for (const auto& i : interfaces)
    w.sample("ferry_interface_up", "interface=\"" + label(i["name"]) + "\"", flag(i, "up"));
  if (bfd.is_object() && bfd.contains("sessions")) {
    w.family("ferry_bfd_session_up", "gauge", "1 when the BFD session is Up.");
    for (const auto& s : bfd["sessions"])
      w.sample("ferry_bfd_session_up", "interface=\"" + label(s["interface"]) + "\"",
               s.value("state", "") == "up" ? 1 : 0);
    w.family("ferry_bfd_transitions_total", "counter", "BFD session state changes.");
    for (const auto& s : bfd["sessions"])
      w.sample("ferry_bfd_transitions_total", "interface=\"" + label(s["interface"]) + "\"",
               field(s, "transitions"));
    w.family("ferry_bfd_flaps_damped_total", "counter",
             "BFD ups that ended within the interface's up hold-down.");
    for (const auto& s : bfd["sessions"])
      w.sample("ferry_bfd_flaps_damped_total", "interface=\"" + label(s["interface"]) + "\"",
               field(s, "flaps_damped"));
    w.family("ferry_bfd_detection_time_microseconds", "gauge", "Negotiated BFD detection time.");
    for (const auto& s : bfd["sessions"])
      w.sample("ferry_bfd_detection_time_microseconds",
               "interface=\"" + label(s["interface"]) + "\"", field(s, "detection_time_us"));
    // Per reason (RFC 5880 §6.8.6, §6.7): authentication failures, wrong
    // discriminators, …; a rising auth_* series is a wrong key or an attack.
    w.family("ferry_bfd_discards_total", "counter", "BFD packets a session discarded, per reason.");
    for (const auto& s : bfd["sessions"])
      if (const auto d = s.find("discards"); d != s.end() && d->is_object())
        for (const auto& [reason, count] : d->items())
          w.sample("ferry_bfd_discards_total",
                   "interface=\"" + label(s["interface"]) + "\",reason=\"" + label(reason) + "\"",
                   number(count));
    // Key rollover: the key id the peer signs with (sessions with
    // authentication that have accepted a packet).
    w.family("ferry_bfd_peer_key_id", "gauge",
             "Auth Key ID of the peer's last accepted BFD packet.");
    for (const auto& s : bfd["sessions"])
      if (const auto k = s.find("peer_key_id"); k != s.end() && k->is_number())
        w.sample("ferry_bfd_peer_key_id", "interface=\"" + label(s["interface"]) + "\"",
                 number(*k));
  }
  if (routes.is_object() && routes.contains("routes")) {
    w.family("ferry_route_packets_total", "counter", "Packets forwarded per route.");
    for (const auto& r : routes["routes"])
      w.sample("ferry_route_packets_total", "prefix=\"" + label(r["prefix"]) + "\"", number(r["packets"]));
  }
  if (routes.is_object() && routes.contains("sources")) {
    w.family("ferry_routes", "gauge", "Routes in the forwarding table, per source (config, fpm).");
    for (const char* source : {"config", "fpm"})
      w.sample("ferry_routes", std::string("source=\"") + source + "\"", field(routes["sources"], source));
  }
  if (routes.is_object() && routes.contains("fpm")) {
    const nlohmann::json& f = routes["fpm"];
    const auto one = [&](const char* name, const char* type, const char* help, uint64_t value) {
      w.family(name, type, help);
      w.sample(name, "", value);
    };
    const std::string state = f.value("state", "");
    one("ferry_fpm_connected", "gauge", "1 while zebra's FPM connection is open.",
        state == "connected" || state == "resyncing" ? 1 : 0);
    one("ferry_fpm_connects_total", "counter", "FPM connections accepted.", field(f, "connects"));
    one("ferry_fpm_messages_total", "counter", "Netlink messages received over FPM.", field(f, "messages"));
    one("ferry_fpm_errors_total", "counter", "Malformed FPM frames or netlink messages.", field(f, "errors"));
    one("ferry_fpm_ignored_total", "counter", "FPM messages of kinds ferry does not use.", field(f, "ignored"));
    one("ferry_fpm_batches_total", "counter", "Forwarding snapshots built from FPM routes.", field(f, "batches"));
    w.family("ferry_fpm_tries_total", "counter",
             "Lookup tries (two per batch) patched from the last batch's table or built afresh.");
    w.sample("ferry_fpm_tries_total", "how=\"patched\"", field(f, "tries_patched"));
    w.sample("ferry_fpm_tries_total", "how=\"built\"", field(f, "tries_built"));
    one("ferry_fpm_routes_left_out", "gauge", "FPM routes without a next hop that maps to an interface.",
        field(f, "routes_left_out"));
    one("ferry_fpm_stale_swept_total", "counter", "FPM routes swept after a resync.", field(f, "stale_swept"));
    one("ferry_fpm_last_build_microseconds", "gauge", "Time the last FPM batch took to build and publish.",
        field(f, "last_build_us"));
    one("ferry_fpm_last_update_timestamp_milliseconds", "gauge", "Unix time of the last route change received.",
        field(f, "last_update_unix_ms"));
  }
  return w.text();
}

std::string httpResponse(const std::string& request_line, const std::string& body) {
  std::istringstream words(request_line);
  std::string method, path;
  words >> method >> path;
  std::string status = "200 OK", content = body, type = "text/plain; version=0.0.4; charset=utf-8";
  if (method != "GET" && method != "HEAD") {
    status = "405 Method Not Allowed";
    content = "only GET /metrics\n";
    type = "text/plain";
  } else if (path != "/metrics") {
    status = "404 Not Found";
    content = "only /metrics is served here\n";
    type = "text/plain";
  }
  std::string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                     "\r\nContent-Length: " + std::to_string(content.size()) +
                     "\r\nConnection: close\r\n\r\n";
  return method == "HEAD" ? head : head + content;
}

}  // namespace ferry
