#include "ferry/control/render.h"

#include <algorithm>
#include <sstream>

#include "ferry/control/bfd_sessions.h"
#include "ferry/control/bfd_transport.h"

namespace ferry {
namespace {

std::string text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

// "name: reason=n reason=n" for every row with a non-zero drop.
void dropLines(std::ostringstream& out, const std::string& label, const nlohmann::json& drops) {
  std::string line;
  for (auto it = drops.begin(); it != drops.end(); ++it)
    if (it.value().is_number() && it.value().get<uint64_t>() != 0)
      line += " " + it.key() + "=" + it.value().dump();
  if (!line.empty()) out << "  " << label << ":" << line << "\n";
}

// "ok"; "STALLED, steered away" while its share goes to the others;
// "STALLED" while it keeps its share (every dataplane stalled); "ok, steered
// away" only while a failed replacement of the programs is retried; then
// ", rescued by N" while dataplane N receives on its sockets.
std::string dataplaneState(const nlohmann::json& d) {
  const bool stalled = d.value("stalled", false), away = d.value("steered_away", false);
  std::string state = stalled ? "STALLED" : "ok";
  if (away) state += ", steered away";
  if (const auto by = d.find("rescued_by"); by != d.end() && by->is_number())
    state += ", rescued by " + std::to_string(by->get<int>());
  return state;
}

}  // namespace

std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << s << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out.str();
}

std::string renderDataplanes(const nlohmann::json& dataplanes) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : dataplanes)
    rows.push_back({text(d["id"]), text(d["cpu"]), text(d["rx_packets"]), text(d["rx_bytes"]),
                    text(d["tx_packets"]), text(d["tx_bytes"]), text(d["dropped"]),
                    text(d["bfd_rx"]), text(d["rx_queue_overflow"]), text(d["loops"]),
                    text(d.value("resteers", nlohmann::json(0))), dataplaneState(d)});
  return renderTable({"DATAPLANE", "CPU", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "DROPPED",
                      "BFD_RX", "RXQ_OVFL", "LOOPS", "RESTEERS", "STATE"},
                     rows);
}

std::string renderStats(const nlohmann::json& stats) {
  std::ostringstream out;
  out << renderDataplanes(stats["dataplanes"]) << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : stats["interfaces"])
    rows.push_back({text(i["name"]), text(i["rx_packets"]), text(i["rx_bytes"]),
                    text(i["rx_gro_trains"]), text(i["tx_packets"]), text(i["tx_bytes"]),
                    text(i["dropped"]), text(i["bfd_rx"]), text(i["rx_queue_overflow"])});
  out << renderTable({"INTERFACE", "RX_PKTS", "RX_BYTES", "RX_TRAINS", "TX_PKTS", "TX_BYTES",
                      "DROPPED", "BFD_RX", "RXQ_OVFL"},
                     rows);
  std::ostringstream drops;
  for (const auto& d : stats["dataplanes"]) dropLines(drops, "dataplane " + text(d["id"]), d["drops"]);
  for (const auto& i : stats["interfaces"]) dropLines(drops, "interface " + text(i["name"]), i["drops"]);
  if (!drops.str().empty()) out << "\ndrops by reason:\n" << drops.str();
  return out.str();
}

std::string renderInterfaces(const nlohmann::json& interfaces) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : interfaces)
    rows.push_back({text(i["name"]), text(i["bind"]), text(i["peer"]), text(i["bfd"]),
                    text(i["up"]), text(i["relay_to"]), text(i["sockets"]), text(i["rx_packets"]),
                    text(i["tx_packets"]), text(i["dropped"])});
  return renderTable({"INTERFACE", "BIND", "PEER", "BFD", "UP", "RELAY_TO", "SOCKETS", "RX_PKTS",
                      "TX_PKTS", "DROPPED"},
                     rows);
}

std::string renderBfd(const nlohmann::json& bfd) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : bfd["sessions"])
    rows.push_back({text(b["interface"]), text(b["peer"]), text(b["mode"]), text(b["state"]),
                    text(b["remote_state"]), text(b["local_discriminator"]),
                    text(b["remote_discriminator"]), text(b["tx_interval_us"]),
                    text(b["detection_time_us"]), text(b["last_diagnostic"]),
                    text(b["transitions"]), text(b["since_last_change_ms"])});
  return renderTable({"INTERFACE", "PEER", "MODE", "STATE", "REMOTE", "LOCAL_DISC", "REMOTE_DISC",
                      "TX_US", "DETECT_US", "DIAG", "TRANSITIONS", "SINCE_MS"},
                     rows);
}

nlohmann::json bfdJson(const BfdSessions& bfd_sessions, const BfdTransport& transport, uint64_t now_us) {
  const bfd::Micros now = now_us;
  const Config& config = bfd_sessions.config();
  nlohmann::json sessions = nlohmann::json::array();
  for (uint32_t i = 0; i < bfd_sessions.size(); ++i) {
    const BfdSessions::Entry& e = bfd_sessions.entry(i);
    const bfd::SessionStatus st = e.session->status();
    nlohmann::json j;
    j["interface"] = e.name;
    j["peer"] = e.peer.toString();
    j["mode"] = toString(e.mode);
    j["auth"] = bfd::toString(st.auth_type);  // the type and key ids, never a secret
    if (st.auth_type != bfd::AuthType::kNone) {
      j["auth_key_id"] = st.auth_key_id;
      nlohmann::json accept = nlohmann::json::array();
      for (uint8_t k = 0; k < st.accept_key_count; ++k) accept.push_back(st.accept_key_ids[k]);
      j["auth_accept_key_ids"] = std::move(accept);
      // The key the peer signs with (its last accepted packet): once it is the
      // new one, the old one can go from `accept`.
      j["peer_key_id"] =
          st.peer_key_id < 0 ? nlohmann::json(nullptr) : nlohmann::json(st.peer_key_id);
    }
    j["state"] = bfd::toString(st.state);
    j["remote_state"] = bfd::toString(st.remote_state);
    j["forwarding_usable"] = st.forwarding_usable;
    // The link itself: the session's usability after the up hold-down.
    j["link_usable"] = bfd_sessions.liveness()[e.interface] != 0;
    j["hold_up_ms"] = e.hold.hold() / 1000;
    j["hold_left_ms"] = e.hold.deadline() == bfd::kNever || e.hold.deadline() <= now
                            ? 0
                            : (e.hold.deadline() - now + 999) / 1000;
    j["flaps_damped"] = e.hold.damped();
    j["local_discriminator"] = st.local_disc;
    j["remote_discriminator"] = st.remote_disc;
    j["tx_interval_us"] = st.tx_interval_us;
    j["detection_time_us"] = st.detection_time_us;
    j["last_diagnostic"] = bfd::toString(st.local_diag);
    j["remote_diagnostic"] = bfd::toString(st.remote_diag);
    j["transitions"] = st.transitions;
    j["since_last_change_ms"] = (now - st.last_change_us) / 1000;
    j["last_change_monotonic_us"] = st.last_change_us;
    j["last_rx_monotonic_us"] = st.last_rx_us;
    j["desired_min_tx_us"] = st.desired_min_tx_us;
    j["required_min_rx_us"] = st.required_min_rx_us;
    j["detect_mult"] = st.detect_mult;
    j["remote_desired_min_tx_us"] = st.remote_desired_min_tx_us;
    j["remote_required_min_rx_us"] = st.remote_required_min_rx_us;
    j["remote_detect_mult"] = st.remote_detect_mult;
    j["poll_active"] = st.poll_active;
    j["remote_demand"] = st.remote_demand;
    j["rx_packets"] = e.rx_frames;
    j["rx_accepted"] = st.counters.rx_accepted;
    j["tx_packets"] = st.counters.tx_packets;
    j["tx_errors"] = e.tx_errors;
    j["polls_completed"] = st.counters.polls_completed;
    j["detection_expiries"] = st.counters.detection_expiries;
    j["expiries_deferred"] = e.expiries_deferred;
    nlohmann::json deps = nlohmann::json::array();
    for (const uint16_t d : e.depends_on) deps.push_back(config.interfaces[d].name);
    j["depends_on"] = std::move(deps);
    j["held_down"] = e.session->heldDown();  // gated, or stopping (diag 6 / diag 4)
    j["gate_closed"] = e.gated;
    j["gate_holds"] = e.gate_holds;
    nlohmann::json discards = nlohmann::json::object();
    for (size_t k = 1; k < bfd::kRxDiscardCount; ++k)
      discards[bfd::toString(static_cast<bfd::RxDiscard>(k))] = st.counters.rx_discarded[k];
    j["discards"] = std::move(discards);
    sessions.push_back(std::move(j));
  }
  nlohmann::json unmatched;
  nlohmann::json decode = nlohmann::json::object();
  for (size_t k = 1; k < 16; ++k) {
    const char* name = bfd::toString(static_cast<bfd::DecodeResult>(k));
    if (std::string(name) != "unknown") decode[name] = bfd_sessions.counters().decode_errors[k];
  }
  unmatched["decode_errors"] = std::move(decode);
  unmatched["unknown_discriminator"] = bfd_sessions.counters().unknown_discriminator;
  unmatched["no_session_for_peer"] = bfd_sessions.counters().no_session_for_peer;
  unmatched["bad_ttl"] = transport.counters().bad_ttl;
  unmatched["unknown_source"] = transport.counters().unknown_source;
  unmatched["tx_errors"] = bfd_sessions.counters().tx_errors;
  nlohmann::json out;
  out["sessions"] = std::move(sessions);
  out["unmatched"] = std::move(unmatched);
  return out;
}

std::string renderRoutes(const nlohmann::json& routes) {
  std::vector<std::vector<std::string>> rows;
  const auto row = [&](const nlohmann::json& r) {
    std::string via, active;
    for (const auto& v : r["via"])
      via += (via.empty() ? "" : ",") + text(v["interface"]) +
             (v.contains("weight") ? "*" + text(v["weight"]) : "") +
             (v["up"].get<bool>() ? "" : "(down)");
    if (const auto drop = r.find("drop"); drop != r.end() && drop->is_string())
      via = "drop (" + drop->get<std::string>() + ")";
    for (const auto& a : r["active"]) active += (active.empty() ? "" : ",") + text(a);
    rows.push_back({text(r["prefix"]), via, text(r["ecmp"]), active.empty() ? "-" : active, text(r["packets"]),
                    r.contains("source") ? text(r["source"]) : "config"});
  };
  if (routes.contains("address")) {  // show routes ADDRESS
    if (routes.value("local", false))
      return text(routes["address"]) +
             " is ferry's own address (icmp source): echo requests are answered, "
             "nothing is routed\n";
    if (routes["route"].is_null()) return "no route for " + text(routes["address"]) + "\n";
    row(routes["route"]);
    return renderTable({"PREFIX", "VIA", "ECMP", "ACTIVE", "PACKETS", "SOURCE"}, rows);
  }
  for (const auto& r : routes["routes"]) row(r);
  std::string out = renderTable({"PREFIX", "VIA", "ECMP", "ACTIVE", "PACKETS", "SOURCE"}, rows);
  const size_t count = routes.value("count", size_t{0});
  if (count > rows.size())
    out += "(the first " + std::to_string(rows.size()) + " of " + std::to_string(count) + " routes)\n";
  if (routes.contains("sources"))
    out += "routes: " + std::to_string(count) + " (config " + text(routes["sources"]["config"]) + ", fpm " +
           text(routes["sources"]["fpm"]) + ")\n";
  if (routes.contains("fpm")) {
    const auto& f = routes["fpm"];
    out += "fpm: " + text(f["state"]) + (text(f["peer"]).empty() ? "" : " from " + text(f["peer"])) + " (listen " +
           text(f["listen"]) + "), messages " + text(f["messages"]) + ", errors " + text(f["errors"]) +
           ", ignored " + text(f["ignored"]) + ", batches " + text(f["batches"]) + ", last build " +
           text(f["last_build_ms"]) + " ms\n";
    out += "fpm routes: received " + text(f["routes_received"]) + ", installed " + text(f["routes_installed"]) +
           ", shadowed by config " + text(f["routes_shadowed_by_config"]) + ", left out " +
           text(f["routes_left_out"]) + " (next hops that are no interface's peer: " + text(f["unmapped_nexthops"]) +
           "), stale swept " + text(f["stale_swept"]) + "\n";
    for (const auto& l : f["left_out"]) out += "  left out: " + text(l["prefix"]) + ": " + text(l["why"]) + "\n";
  }
  return out;
}

std::string renderGeneric(const nlohmann::json& reply) { return reply.dump(2) + "\n"; }

}  // namespace ferry
