#include "ferry/bench/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace ferry::bench {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tickLabel(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

std::string implColour(const std::string& impl) {
  if (impl == "ferry") return "#d62728";
  if (impl == "ferry-nogro") return "#ff9896";
  if (impl == "mmsg") return "#1f77b4";
  if (impl == "nginx") return "#2ca02c";
  if (impl == "kernel") return "#7f7f7f";
  return "#9467bd";
}

}  // namespace

std::string xmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> niceTicks(double max, unsigned target) {
  if (!(max > 0)) return {0, 1};
  const double raw = max / std::max(1u, target);
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (unsigned i = 0;; ++i) {
    const double t = step * i;
    ticks.push_back(t);
    if (t >= max * (1 - 1e-12)) break;
  }
  return ticks;
}

unsigned ChartSpec::width() const noexcept {
  const size_t n = panels.empty() ? 1 : panels.size();
  return static_cast<unsigned>(70 + n * panel_width + 150);
}

namespace {

// One panel at horizontal offset `x0`: axes, ticks, titles, its series.
void renderPanel(std::ostringstream& o, const ChartSpec& spec, const ChartPanel& panel, double x0) {
  const double h = spec.height;
  const double left = x0 + 60, right = x0 + spec.panel_width - 20, top = 96, bottom = h - 66;
  const double plot_w = right - left, plot_h = bottom - top;

  std::vector<double> xt = panel.x_ticks;
  if (xt.empty()) {
    std::set<double> xs;
    for (const auto& s : panel.series)
      for (const auto& p : s.points) xs.insert(p.first);
    xt.assign(xs.begin(), xs.end());
  }
  if (xt.empty()) xt = {1};
  std::sort(xt.begin(), xt.end());
  // Some room either side so points at the ends sit clear of the axes.
  double xmin = xt.front(), xmax = xt.back();
  const double pad = xmax > xmin ? (xmax - xmin) * 0.08 : 1;
  xmin -= pad;
  xmax += pad;
  double ymax_data = 0;
  for (const auto& s : panel.series)
    for (const auto& p : s.points) ymax_data = std::max(ymax_data, p.second);
  const std::vector<double> yt = niceTicks(ymax_data);
  const double ymax = yt.back();
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * plot_w; };
  auto py = [&](double y) { return bottom - y / ymax * plot_h; };

  o << "<g class=\"panel\">\n"
    << "<text class=\"panel-title\" x=\"" << num(left + plot_w / 2) << "\" y=\"" << num(top - 14)
    << "\" text-anchor=\"middle\" font-weight=\"bold\">" << xmlEscape(panel.title) << "</text>\n";
  o << "<g class=\"grid\" stroke=\"#e5e5e5\">\n";
  for (double y : yt)
    o << "<line x1=\"" << num(left) << "\" y1=\"" << num(py(y)) << "\" x2=\"" << num(right)
      << "\" y2=\"" << num(py(y)) << "\"/>\n";
  o << "</g>\n";

  o << "<g class=\"axis x\">\n"
    << "<line class=\"domain\" x1=\"" << num(left) << "\" y1=\"" << num(bottom) << "\" x2=\""
    << num(right) << "\" y2=\"" << num(bottom) << "\" stroke=\"black\"/>\n";
  for (double x : xt)
    o << "<g class=\"tick\"><line x1=\"" << num(px(x)) << "\" y1=\"" << num(bottom) << "\" x2=\""
      << num(px(x)) << "\" y2=\"" << num(bottom + 6) << "\" stroke=\"black\"/><text x=\""
      << num(px(x)) << "\" y=\"" << num(bottom + 22) << "\" text-anchor=\"middle\">" << tickLabel(x)
      << "</text></g>\n";
  o << "<text class=\"axis-title\" x=\"" << num(left + plot_w / 2) << "\" y=\"" << num(bottom + 46)
    << "\" text-anchor=\"middle\">" << xmlEscape(spec.x_title) << "</text>\n</g>\n";

  o << "<g class=\"axis y\">\n"
    << "<line class=\"domain\" x1=\"" << num(left) << "\" y1=\"" << num(top) << "\" x2=\""
    << num(left) << "\" y2=\"" << num(bottom) << "\" stroke=\"black\"/>\n";
  for (double y : yt)
    o << "<g class=\"tick\"><line x1=\"" << num(left - 6) << "\" y1=\"" << num(py(y)) << "\" x2=\""
      << num(left) << "\" y2=\"" << num(py(y)) << "\" stroke=\"black\"/><text x=\"" << num(left - 9)
      << "\" y=\"" << num(py(y) + 4) << "\" text-anchor=\"end\">" << tickLabel(y)
      << "</text></g>\n";
  o << "<text class=\"axis-title\" transform=\"translate(" << num(x0 + 16) << " "
    << num(top + plot_h / 2) << ") rotate(-90)\" text-anchor=\"middle\">" << xmlEscape(spec.y_title)
    << "</text>\n</g>\n";

  for (const auto& s : panel.series) {
    auto pts = s.points;
    std::sort(pts.begin(), pts.end());
    o << "<g class=\"series\" data-series=\"" << xmlEscape(s.label)
      << "\">\n<path class=\"line\" d=\"";
    for (size_t i = 0; i < pts.size(); ++i)
      o << (i == 0 ? "M" : " L") << num(px(pts[i].first)) << ',' << num(py(pts[i].second));
    o << "\" fill=\"none\" stroke=\"" << xmlEscape(s.colour) << "\" stroke-width=\"2.5\"/>\n";
    for (const auto& [x, y] : pts)
      o << "<circle cx=\"" << num(px(x)) << "\" cy=\"" << num(py(y)) << "\" r=\"4\" fill=\""
        << xmlEscape(s.colour) << "\"><title>" << xmlEscape(s.label) << ", " << tickLabel(x)
        << " dataplanes: " << tickLabel(std::round(y * 1000) / 1000)
        << " Gbit/s</title></circle>\n";
    o << "</g>\n";
  }
  o << "</g>\n";
}

}  // namespace

std::string renderSvg(const ChartSpec& spec) {
  const unsigned w = spec.width();
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << spec.height
    << "\" viewBox=\"0 0 " << w << ' ' << spec.height
    << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
    << "<title>" << xmlEscape(spec.title) << "</title>\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << w << "\" height=\"" << spec.height
    << "\" fill=\"white\"/>\n"
    << "<text class=\"title\" x=\"20\" y=\"28\" font-size=\"18\" font-weight=\"bold\">"
    << xmlEscape(spec.title) << "</text>\n"
    << "<text class=\"subtitle\" x=\"20\" y=\"50\" fill=\"#555\">" << xmlEscape(spec.subtitle)
    << "</text>\n";
  for (size_t i = 0; i < spec.panels.size(); ++i)
    renderPanel(o, spec, spec.panels[i], 10 + static_cast<double>(i) * spec.panel_width);

  o << "<g class=\"legend\">\n";
  const double lx =
      10 + static_cast<double>(std::max<size_t>(1, spec.panels.size())) * spec.panel_width + 20;
  for (size_t i = 0; i < spec.legend.size(); ++i) {
    const auto& e = spec.legend[i];
    const double ly = 110 + 24.0 * static_cast<double>(i);
    o << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(lx + 30)
      << "\" y2=\"" << num(ly) << "\" stroke=\"" << xmlEscape(e.colour)
      << "\" stroke-width=\"2.5\"/><circle cx=\"" << num(lx + 15) << "\" cy=\"" << num(ly)
      << "\" r=\"4\" fill=\"" << xmlEscape(e.colour) << "\"/><text x=\"" << num(lx + 38)
      << "\" y=\"" << num(ly + 4) << "\">" << xmlEscape(e.label) << "</text>\n";
  }
  o << "</g>\n</svg>\n";
  return o.str();
}

ChartSpec throughputChart(const std::vector<RunResult>& input, const std::string& subtitle) {
  std::vector<RunResult> runs = input;
  sortRuns(runs);
  ChartSpec spec;
  spec.title = "ferryd bench: forwarding throughput by dataplane count";
  spec.subtitle = subtitle;
  spec.x_title = "dataplanes (threads, workers, CPUs)";
  spec.y_title = "Gbit/s of UDP payload";

  std::set<uint32_t> sizes;
  std::set<double> xs;
  for (const auto& r : runs) {
    sizes.insert(r.size);
    xs.insert(r.dataplanes);
  }
  for (uint32_t size : sizes) {
    ChartPanel panel;
    panel.title = std::to_string(size) + " B datagrams";
    panel.x_ticks.assign(xs.begin(), xs.end());
    for (const auto& r : runs) {
      if (r.size != size || !r.found) continue;
      const std::string label = r.impl + " " + std::to_string(r.size) + " B";
      auto it = std::find_if(panel.series.begin(), panel.series.end(),
                             [&](const ChartSeries& s) { return s.label == label; });
      if (it == panel.series.end()) {
        panel.series.push_back({label, implColour(r.impl), {}});
        it = panel.series.end() - 1;
      }
      it->points.emplace_back(r.dataplanes, r.gbps());
    }
    spec.panels.push_back(std::move(panel));
  }
  for (const auto& r : runs) {
    const bool drawn = std::any_of(runs.begin(), runs.end(),
                                   [&](const RunResult& o) { return o.impl == r.impl && o.found; });
    const bool listed = std::any_of(spec.legend.begin(), spec.legend.end(),
                                    [&](const LegendEntry& e) { return e.label == r.impl; });
    if (drawn && !listed) spec.legend.push_back({r.impl, implColour(r.impl)});
  }
  return spec;
}

}  // namespace ferry::bench
