// A self-contained SVG chart (no scripts, no external styles), readable
// without the table: a title and subtitle, then one panel per packet size —
// each with its own y scale, both axes with ticks and titles, and one line
// with point markers per implementation — and a legend naming the lines.
// (Sizes get panels of their own because their Gbit/s differ by 20x: on one
// scale the 64-byte lines would lie flat on the axis.)
//
// Structure (checked by tests/unit/bench/chart_test.cc): the root <svg> holds
// <text class="title">, <text class="subtitle">, one <g class="panel"> per
// panel with a <text class="panel-title">, a <g class="axis x"> and a
// <g class="axis y"> (each: a <line class="domain">, a <g class="tick"> with
// one <text> per tick, a <text class="axis-title">), and one
// <g class="series" data-series="LABEL"> per series with exactly one
// <path class="line"> and a <circle> per point; then <g class="legend"> with a
// <text> per legend entry.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ferry/bench/results.h"

namespace ferry::bench {

struct ChartSeries {
  std::string label;                              // e.g. "ferry 64 B" (unique in the chart)
  std::string colour;                             // CSS colour of the line
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in x order
};

struct ChartPanel {
  std::string title;  // e.g. "64 B datagrams"
  std::vector<ChartSeries> series;
  std::vector<double> x_ticks;  // these values exactly; empty = the data's x values
};

struct LegendEntry {
  std::string label;  // e.g. "ferry"
  std::string colour;
};

struct ChartSpec {
  std::string title;
  std::string subtitle;
  std::string x_title;
  std::string y_title;
  std::vector<ChartPanel> panels;
  std::vector<LegendEntry> legend;
  unsigned panel_width = 330;
  unsigned height = 520;
  unsigned width() const noexcept;
};

std::string renderSvg(const ChartSpec& spec);

// Gbit/s of UDP payload against dataplane count: a panel per size, a line per
// implementation (coloured by implementation), from the runs that found a rate.
ChartSpec throughputChart(const std::vector<RunResult>& runs, const std::string& subtitle);

// Round tick positions covering [0, max]: steps of 1, 2 or 5 × 10^k, about
// `target` of them. The last tick is >= max.
std::vector<double> niceTicks(double max, unsigned target = 5);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string xmlEscape(const std::string& text);

}  // namespace ferry::bench
