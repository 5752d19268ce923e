// A self-contained SVG line chart (no scripts, no external styles), readable
// without the table: title, subtitle, both axes with ticks and titles, one
// line with point markers per series, and a legend naming every series.
//
// Structure (checked by tests/unit/bench/chart_test.cc): the root <svg> holds
// <g class="axis x"> and <g class="axis y"> (a <line class="domain">, one
// <g class="tick"> with a <text> per tick, a <text class="axis-title">), one
// <g class="series" data-series="LABEL"> per series with exactly one
// <path class="line"> and a <circle> per point, and <g class="legend">.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ferry/bench/results.h"

namespace ferry::bench {

struct ChartSeries {
  std::string label;                               // legend text, e.g. "ferry 64 B"
  std::string colour;                              // CSS colour of the line
  std::string dash;                                // stroke-dasharray ("" = solid)
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in x order
};

struct ChartSpec {
  std::string title;
  std::string subtitle;
  std::string x_title;
  std::string y_title;
  std::vector<ChartSeries> series;
  // x ticks: these values exactly (the dataplane counts); empty = from the data.
  std::vector<double> x_ticks;
  unsigned width = 900;
  unsigned height = 520;
};

std::string renderSvg(const ChartSpec& spec);

// Gbit/s of UDP payload against dataplane count, one series per
// implementation × size (colour by implementation, dash by size), from the
// runs that found a rate.
ChartSpec throughputChart(const std::vector<RunResult>& runs, const std::string& subtitle);

// Round tick positions covering [0, max]: steps of 1, 2 or 5 × 10^k, about
// `target` of them. The last tick is >= max.
std::vector<double> niceTicks(double max, unsigned target = 5);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string xmlEscape(const std::string& text);

}  // namespace ferry::bench
