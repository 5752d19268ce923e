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
  if (impl == "mmsg") return "#1f77b4";
  if (impl == "nginx") return "#2ca02c";
  if (impl == "kernel") return "#7f7f7f";
  return "#9467bd";
}

constexpr const char* kDashes[] = {"", "7 4", "2 3", "10 3 2 3", "1 6"};

}  // namespace

std::string xmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
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

std::string renderSvg(const ChartSpec& spec) {
  const double w = spec.width, h = spec.height;
  const double left = 80, right = 230, top = 72, bottom = 66;
  const double plot_w = w - left - right, plot_h = h - top - bottom;

  // x: the given ticks, else every x in the data.
  std::vector<double> xt = spec.x_ticks;
  if (xt.empty()) {
    std::set<double> xs;
    for (const auto& s : spec.series)
      for (const auto& p : s.points) xs.insert(p.first);
    xt.assign(xs.begin(), xs.end());
  }
  if (xt.empty()) xt = {1};
  std::sort(xt.begin(), xt.end());
  double xmin = xt.front(), xmax = xt.back();
  if (xmax <= xmin) {  // one value: centre it
    xmin -= 1;
    xmax += 1;
  }
  double ymax_data = 0;
  for (const auto& s : spec.series)
    for (const auto& p : s.points) ymax_data = std::max(ymax_data, p.second);
  const std::vector<double> yt = niceTicks(ymax_data);
  const double ymax = yt.back();

  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * plot_w; };
  auto py = [&](double y) { return top + plot_h - y / ymax * plot_h; };

  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << spec.width << "\" height=\""
    << spec.height << "\" viewBox=\"0 0 " << spec.width << ' ' << spec.height
    << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
    << "<title>" << xmlEscape(spec.title) << "</title>\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << spec.width << "\" height=\"" << spec.height
    << "\" fill=\"white\"/>\n"
    << "<text class=\"title\" x=\"" << num(left) << "\" y=\"28\" font-size=\"18\" "
       "font-weight=\"bold\">"
    << xmlEscape(spec.title) << "</text>\n"
    << "<text class=\"subtitle\" x=\"" << num(left) << "\" y=\"50\" fill=\"#555\">"
    << xmlEscape(spec.subtitle) << "</text>\n";

  // Gridlines under everything.
  o << "<g class=\"grid\" stroke=\"#e5e5e5\">\n";
  for (double y : yt)
    o << "<line x1=\"" << num(left) << "\" y1=\"" << num(py(y)) << "\" x2=\""
      << num(left + plot_w) << "\" y2=\"" << num(py(y)) << "\"/>\n";
  o << "</g>\n";

  // x axis.
  o << "<g class=\"axis x\">\n"
    << "<line class=\"domain\" x1=\"" << num(left) << "\" y1=\"" << num(top + plot_h)
    << "\" x2=\"" << num(left + plot_w) << "\" y2=\"" << num(top + plot_h)
    << "\" stroke=\"black\"/>\n";
  for (double x : xt)
    o << "<g class=\"tick\"><line x1=\"" << num(px(x)) << "\" y1=\"" << num(top + plot_h)
      << "\" x2=\"" << num(px(x)) << "\" y2=\"" << num(top + plot_h + 6)
      << "\" stroke=\"black\"/><text x=\"" << num(px(x)) << "\" y=\"" << num(top + plot_h + 22)
      << "\" text-anchor=\"middle\">" << tickLabel(x) << "</text></g>\n";
  o << "<text class=\"axis-title\" x=\"" << num(left + plot_w / 2) << "\" y=\""
    << num(top + plot_h + 50) << "\" text-anchor=\"middle\">" << xmlEscape(spec.x_title)
    << "</text>\n</g>\n";

  // y axis.
  o << "<g class=\"axis y\">\n"
    << "<line class=\"domain\" x1=\"" << num(left) << "\" y1=\"" << num(top) << "\" x2=\""
    << num(left) << "\" y2=\"" << num(top + plot_h) << "\" stroke=\"black\"/>\n";
  for (double y : yt)
    o << "<g class=\"tick\"><line x1=\"" << num(left - 6) << "\" y1=\"" << num(py(y))
      << "\" x2=\"" << num(left) << "\" y2=\"" << num(py(y))
      << "\" stroke=\"black\"/><text x=\"" << num(left - 10) << "\" y=\"" << num(py(y) + 4)
      << "\" text-anchor=\"end\">" << tickLabel(y) << "</text></g>\n";
  o << "<text class=\"axis-title\" transform=\"translate(22 " << num(top + plot_h / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xmlEscape(spec.y_title) << "</text>\n</g>\n";

  // Series.
  for (const auto& s : spec.series) {
    auto pts = s.points;
    std::sort(pts.begin(), pts.end());
    o << "<g class=\"series\" data-series=\"" << xmlEscape(s.label) << "\">\n<path class=\"line\" d=\"";
    for (size_t i = 0; i < pts.size(); ++i)
      o << (i == 0 ? "M" : " L") << num(px(pts[i].first)) << ',' << num(py(pts[i].second));
    o << "\" fill=\"none\" stroke=\"" << xmlEscape(s.colour) << "\" stroke-width=\"2.5\"";
    if (!s.dash.empty()) o << " stroke-dasharray=\"" << xmlEscape(s.dash) << "\"";
    o << "/>\n";
    for (const auto& [x, y] : pts)
      o << "<circle cx=\"" << num(px(x)) << "\" cy=\"" << num(py(y)) << "\" r=\"4\" fill=\""
        << xmlEscape(s.colour) << "\"><title>" << xmlEscape(s.label) << ": " << tickLabel(x)
        << " → " << tickLabel(std::round(y * 1000) / 1000) << "</title></circle>\n";
    o << "</g>\n";
  }

  // Legend, right of the plot.
  o << "<g class=\"legend\">\n";
  const double lx = left + plot_w + 24;
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const auto& s = spec.series[i];
    const double ly = top + 10 + 22.0 * static_cast<double>(i);
    o << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(lx + 34)
      << "\" y2=\"" << num(ly) << "\" stroke=\"" << xmlEscape(s.colour)
      << "\" stroke-width=\"2.5\"";
    if (!s.dash.empty()) o << " stroke-dasharray=\"" << xmlEscape(s.dash) << "\"";
    o << "/><text x=\"" << num(lx + 42) << "\" y=\"" << num(ly + 4) << "\">"
      << xmlEscape(s.label) << "</text>\n";
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
  spec.x_title = "dataplanes (ferry dataplanes, mmsg threads, nginx workers, kernel RPS CPUs)";
  spec.y_title = "Gbit/s of UDP payload";

  std::set<uint32_t> sizes;
  std::set<double> xs;
  for (const auto& r : runs) {
    sizes.insert(r.size);
    xs.insert(r.dataplanes);
  }
  spec.x_ticks.assign(xs.begin(), xs.end());
  for (const auto& r : runs) {
    if (!r.found) continue;
    const std::string label = r.impl + " " + std::to_string(r.size) + " B";
    auto it = std::find_if(spec.series.begin(), spec.series.end(),
                           [&](const ChartSeries& s) { return s.label == label; });
    if (it == spec.series.end()) {
      const auto size_index = static_cast<size_t>(std::distance(sizes.begin(), sizes.find(r.size)));
      spec.series.push_back({label, implColour(r.impl),
                             kDashes[size_index % std::size(kDashes)], {}});
      it = spec.series.end() - 1;
    }
    it->points.emplace_back(r.dataplanes, r.gbps());
  }
  return spec;
}

}  // namespace ferry::bench
