// The SVG chart is well-formed XML: axes with
// ticks and titles, one path per series, a legend naming each series.
#include "ferry/bench/chart.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "xml_lite.h"

namespace ferry::bench {
namespace {

using test::XmlElement;
using test::XmlReader;

RunResult chartRun(std::string impl, unsigned dp, uint32_t size, double pps, bool found = true) {
  RunResult r;
  r.impl = std::move(impl);
  r.dataplanes = dp;
  r.size = size;
  r.flows = 64;
  r.found = found;
  r.at.received_pps = pps;
  r.at.offered_pps = pps;
  return r;
}

std::vector<RunResult> sampleRuns() {
  return {
      chartRun("ferry", 1, 64, 150e3),
      chartRun("ferry", 2, 64, 260e3),
      chartRun("ferry", 4, 64, 250e3),
      chartRun("ferry", 1, 1400, 140e3),
      chartRun("ferry", 2, 1400, 240e3),
      chartRun("ferry", 4, 1400, 230e3),
      chartRun("mmsg", 1, 64, 140e3),
      chartRun("mmsg", 2, 64, 250e3),
      chartRun("mmsg", 4, 64, 240e3),
      chartRun("mmsg", 1, 1400, 130e3),
      chartRun("mmsg", 2, 1400, 230e3),
      chartRun("mmsg", 4, 1400, 220e3),
      chartRun("nginx", 1, 64, 40e3),
      chartRun("nginx", 2, 64, 45e3),
      chartRun("nginx", 4, 64, 0, /*found=*/false),  // no rate passed: not drawn
  };
}

std::vector<std::string> tickTexts(const XmlElement& axis) {
  std::vector<std::string> out;
  for (const auto* tick : axis.childrenNamed("g", "tick")) {
    auto texts = tick->childrenNamed("text");
    EXPECT_EQ(texts.size(), 1u);
    if (!texts.empty()) out.push_back(texts[0]->text);
  }
  return out;
}

// Number of points in a path's d="M x,y L x,y …".
size_t pathPoints(const std::string& d) {
  return static_cast<size_t>(std::count(d.begin(), d.end(), ','));
}

TEST(Chart, ThroughputChartIsWellFormedWithAxesLabelsAndOnePathPerSeries) {
  const auto runs = sampleRuns();
  const ChartSpec spec = throughputChart(runs, "netns topology, 64 flows, loss <= 0.1%");
  const std::string svg = renderSvg(spec);
  std::unique_ptr<XmlElement> root;
  ASSERT_NO_THROW(root = XmlReader::parse(svg)) << svg;

  EXPECT_EQ(root->name, "svg");
  EXPECT_EQ(root->attr("xmlns"), "http://www.w3.org/2000/svg");
  const std::string width = std::to_string(spec.width());
  EXPECT_EQ(root->attr("width"), width);
  EXPECT_EQ(root->attr("height"), "520");
  EXPECT_EQ(root->attr("viewBox"), "0 0 " + width + " 520");

  const auto titles = root->childrenNamed("text", "title");
  ASSERT_EQ(titles.size(), 1u);
  EXPECT_EQ(titles[0]->text, "ferryd bench: forwarding throughput by dataplane count");
  const auto subtitles = root->childrenNamed("text", "subtitle");
  ASSERT_EQ(subtitles.size(), 1u);
  EXPECT_EQ(subtitles[0]->text, "netns topology, 64 flows, loss <= 0.1%");

  // A panel per size, in size order, each with both axes titled and ticked.
  const auto panels = root->childrenNamed("g", "panel");
  ASSERT_EQ(panels.size(), 2u);
  const std::vector<std::string> panel_titles = {"64 B datagrams", "1400 B datagrams"};
  const std::vector<std::set<std::string>> panel_series = {
      {"ferry 64 B", "mmsg 64 B", "nginx 64 B"}, {"ferry 1400 B", "mmsg 1400 B"}};
  const std::vector<double> panel_max = {260e3 * 64 * 8 / 1e9, 240e3 * 1400 * 8 / 1e9};
  std::set<std::string> all_series;
  for (size_t i = 0; i < panels.size(); ++i) {
    const XmlElement& panel = *panels[i];
    const auto title = panel.childrenNamed("text", "panel-title");
    ASSERT_EQ(title.size(), 1u);
    EXPECT_EQ(title[0]->text, panel_titles[i]);

    const auto x_axes = panel.childrenNamed("g", "x");
    ASSERT_EQ(x_axes.size(), 1u);
    EXPECT_TRUE(x_axes[0]->hasClass("axis"));
    EXPECT_EQ(x_axes[0]->childrenNamed("line", "domain").size(), 1u);
    EXPECT_EQ(tickTexts(*x_axes[0]), (std::vector<std::string>{"1", "2", "4"}));
    const auto x_title = x_axes[0]->childrenNamed("text", "axis-title");
    ASSERT_EQ(x_title.size(), 1u);
    EXPECT_EQ(x_title[0]->text.rfind("dataplanes", 0), 0u);

    const auto y_axes = panel.childrenNamed("g", "y");
    ASSERT_EQ(y_axes.size(), 1u);
    EXPECT_EQ(y_axes[0]->childrenNamed("line", "domain").size(), 1u);
    const auto y_ticks = tickTexts(*y_axes[0]);
    ASSERT_GE(y_ticks.size(), 3u);
    EXPECT_EQ(y_ticks.front(), "0");
    EXPECT_GE(std::stod(y_ticks.back()), panel_max[i]) << "each panel scales to its own data";
    EXPECT_LT(std::stod(y_ticks.back()), 2.5 * panel_max[i]);
    const auto y_title = y_axes[0]->childrenNamed("text", "axis-title");
    ASSERT_EQ(y_title.size(), 1u);
    EXPECT_EQ(y_title[0]->text, "Gbit/s of UDP payload");

    // One series per implementation that found a rate, each exactly one path.
    std::set<std::string> seen;
    for (const auto* series : panel.childrenNamed("g", "series")) {
      const std::string label = series->attr("data-series");
      seen.insert(label);
      all_series.insert(label);
      const auto paths = series->findAll("path");
      ASSERT_EQ(paths.size(), 1u) << label;
      EXPECT_TRUE(paths[0]->hasClass("line"));
      const size_t points = label == "nginx 64 B" ? 2 : 3;
      EXPECT_EQ(pathPoints(paths[0]->attr("d")), points) << label;
      EXPECT_EQ(series->childrenNamed("circle").size(), points) << label;
      EXPECT_EQ(paths[0]->attr("fill"), "none");
      EXPECT_FALSE(paths[0]->attr("stroke").empty());
    }
    EXPECT_EQ(seen, panel_series[i]);
  }
  EXPECT_EQ(root->findAll("path").size(), all_series.size()) << "no other paths";

  // Legend: each implementation drawn, once.
  const auto legends = root->childrenNamed("g", "legend");
  ASSERT_EQ(legends.size(), 1u);
  std::vector<std::string> legend_texts;
  for (const auto* t : legends[0]->childrenNamed("text")) legend_texts.push_back(t->text);
  EXPECT_EQ(legend_texts, (std::vector<std::string>{"ferry", "mmsg", "nginx"}));
}

TEST(Chart, ColoursTellImplementationsApart) {
  const ChartSpec spec = throughputChart(sampleRuns(), "");
  auto colour = [&](const std::string& label) {
    for (const auto& p : spec.panels)
      for (const auto& s : p.series)
        if (s.label == label) return s.colour;
    return std::string();
  };
  EXPECT_EQ(colour("ferry 64 B"), colour("ferry 1400 B"));
  EXPECT_NE(colour("ferry 64 B"), colour("mmsg 64 B"));
  EXPECT_NE(colour("mmsg 64 B"), colour("nginx 64 B"));
  for (const auto& e : spec.legend) EXPECT_EQ(e.colour, colour(e.label + " 64 B"));
}

TEST(Chart, PointsLieInsideThePlotAndRiseWithValue) {
  ChartSpec spec;
  spec.title = "t";
  spec.panels.push_back({"p", {{"a", "red", {{1, 0.0}, {2, 5.0}, {3, 2.5}}}}, {}});
  const auto root = XmlReader::parse(renderSvg(spec));
  const auto circles = root->findAll("circle");
  ASSERT_EQ(circles.size(), 3u);
  std::vector<double> cy, cx;
  for (const auto* c : circles) {
    cx.push_back(std::stod(c->attr("cx")));
    cy.push_back(std::stod(c->attr("cy")));
  }
  const double w = spec.width();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(cx[i], 60);
    EXPECT_LT(cx[i], w);
    EXPECT_GT(cy[i], 60);
    EXPECT_LT(cy[i], 520 - 66 + 0.01);
  }
  EXPECT_LT(cx[0], cx[1]);
  EXPECT_LT(cx[1], cx[2]);
  EXPECT_LT(cy[1], cy[2]) << "larger values are higher up (smaller y)";
  EXPECT_LT(cy[2], cy[0]);
}

TEST(Chart, TextIsEscaped) {
  ChartSpec spec;
  spec.title = "a < b & \"c\"";
  spec.x_title = "x's";
  spec.panels.push_back({"<p>", {{"<odd & label>", "#123456", {{1, 1.0}}}}, {}});
  spec.legend.push_back({"<odd>", "#123456"});
  const auto root = XmlReader::parse(renderSvg(spec));
  EXPECT_EQ(root->childrenNamed("text", "title")[0]->text, "a < b & \"c\"");
  const auto panel = root->childrenNamed("g", "panel")[0];
  EXPECT_EQ(panel->childrenNamed("text", "panel-title")[0]->text, "<p>");
  EXPECT_EQ(panel->childrenNamed("g", "series")[0]->attr("data-series"), "<odd & label>");
  EXPECT_EQ(root->childrenNamed("g", "legend")[0]->childrenNamed("text")[0]->text, "<odd>");
}

TEST(Chart, EmptyAndSinglePointChartsAreStillValid) {
  ChartSpec empty;
  empty.title = "nothing measured";
  EXPECT_NO_THROW(XmlReader::parse(renderSvg(empty)));
  EXPECT_NO_THROW(XmlReader::parse(renderSvg(throughputChart({}, "none"))));
  ChartSpec one;
  one.panels.push_back({"p", {{"only", "red", {{2, 3.0}}}}, {}});
  const auto root = XmlReader::parse(renderSvg(one));
  EXPECT_EQ(root->findAll("path").size(), 1u);
  const auto panel = root->childrenNamed("g", "panel")[0];
  EXPECT_EQ(tickTexts(*panel->childrenNamed("g", "x")[0]), std::vector<std::string>{"2"});
}

TEST(Chart, NiceTicks) {
  EXPECT_EQ(niceTicks(2.688), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(niceTicks(2.688, 10), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3}));
  EXPECT_EQ(niceTicks(10), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(niceTicks(0.07), (std::vector<double>{0, 0.02, 0.04, 0.06, 0.08}));
  EXPECT_EQ(niceTicks(0), (std::vector<double>{0, 1}));
  const auto t = niceTicks(123.0);
  EXPECT_GE(t.back(), 123.0);
  EXPECT_LE(t.size(), 8u);
}

TEST(Chart, MalformedXmlIsRejectedByTheReader) {
  // The reader the checks above rely on does reject broken documents.
  EXPECT_THROW(XmlReader::parse("<svg><g></svg>"), std::runtime_error);
  EXPECT_THROW(XmlReader::parse("<svg a=1/>"), std::runtime_error);
  EXPECT_THROW(XmlReader::parse("<svg><text>a & b</text></svg>"), std::runtime_error);
  EXPECT_THROW(XmlReader::parse("<svg/><svg/>"), std::runtime_error);
}

}  // namespace
}  // namespace ferry::bench
