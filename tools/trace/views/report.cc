#include "tools/trace/views/report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tools/trace/views/strace_format.h"
#include "tools/trace/profile.h"

namespace futexbox::tools {

namespace {

using nlohmann::json;

constexpr std::size_t kContentionRows = 10;
// One colour per contention row, in row order (the timeline's bars use the same); other words grey.
constexpr const char* kPalette[kContentionRows] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                   "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                                   "#9c755f", "#2f4b7c"};

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Wait-time histogram buckets: [0] below 1 µs, [k] 2^(k-1) .. 2^k µs, the last 2^20 µs (1 s) on.
constexpr int kBuckets = 22;
int bucket_of(std::uint64_t ns) {
  if (ns < 1000) return 0;
  int k = 1;
  for (std::uint64_t edge = 2000; ns >= edge && k < kBuckets - 1; edge *= 2) ++k;
  return k;
}
// The edge between buckets k - 1 and k (k >= 1), 2^(k-1) µs, compactly: "1 µs", "512 µs", "1 s".
std::string edge_label(int k) {
  const auto edge_us = static_cast<double>(std::uint64_t{1} << (k - 1));
  char buf[32];
  if (edge_us < 1000) {
    std::snprintf(buf, sizeof buf, "%g µs", edge_us);
  } else if (edge_us < 1e6) {
    std::snprintf(buf, sizeof buf, "%.3g ms", edge_us / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g s", edge_us / 1e6);
  }
  return buf;
}
std::string bucket_label(int k) {
  if (k == 0) return "< 1 µs";
  if (k == kBuckets - 1) return "≥ " + edge_label(k);
  return edge_label(k) + " – " + edge_label(k + 1);
}

// One row's histogram on the axis [first, last] shared by all rows, bars scaled to the row's
// fullest bucket. Each bar carries its count as a tooltip.
std::string histogram_svg(const WordProfile& word, int first, int last, const char* colour) {
  std::vector<std::size_t> counts(kBuckets, 0);
  for (const std::uint64_t ns : word.waits) ++counts[static_cast<std::size_t>(bucket_of(ns))];
  const std::size_t fullest = *std::max_element(counts.begin(), counts.end());
  constexpr int kBar = 10, kHeight = 36;
  const int bars = last - first + 1;
  std::string svg = "<svg class=\"histogram\" width=\"" + std::to_string(bars * kBar) +
                    "\" height=\"" + std::to_string(kHeight + 12) + "\" role=\"img\">";
  for (int k = first; k <= last; ++k) {
    const std::size_t n = counts[static_cast<std::size_t>(k)];
    const int h = n == 0 ? 0 : std::max(1, static_cast<int>(static_cast<double>(n) * kHeight / static_cast<double>(fullest)));
    const int x = (k - first) * kBar;
    svg += "<rect class=\"bucket\" x=\"" + std::to_string(x) + "\" y=\"" +
           std::to_string(kHeight - h) + "\" width=\"" + std::to_string(kBar - 1) +
           "\" height=\"" + std::to_string(std::max(h, 1)) + "\" fill=\"" +
           (n == 0 ? std::string("#e8e8e8") : std::string(colour)) + "\"><title>" +
           escape(bucket_label(k)) + ": " + std::to_string(n) + (n == 1 ? " wait" : " waits") +
           "</title></rect>";
  }
  // The axis: where the first bar starts and where the last one ends.
  const std::string from = first == 0 ? "0" : edge_label(first);
  const std::string to = last == kBuckets - 1 ? "∞" : edge_label(last + 1);
  svg += "<text x=\"0\" y=\"" + std::to_string(kHeight + 11) + "\">" + escape(from) + "</text>";
  svg += "<text x=\"" + std::to_string(bars * kBar) + "\" y=\"" + std::to_string(kHeight + 11) +
         "\" text-anchor=\"end\">" + escape(to) + "</text></svg>";
  return svg;
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #555; margin: 0; }
code { font: 13px ui-monospace, monospace; }
table { border-collapse: collapse; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #e4e4e4; vertical-align: middle; }
th { background: #f4f4f4; font-weight: 600; }
td.name, th.name, td.op { text-align: left; }
td.name { max-width: 420px; overflow-wrap: anywhere; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; }
svg.histogram text { font: 10px system-ui, sans-serif; fill: #666; }
#timeline { border: 1px solid #ddd; overflow: hidden; user-select: none; cursor: grab; }
svg.timeline text { font: 11px system-ui, sans-serif; fill: #333; }
svg.timeline .axis text { fill: #777; }
#report-error { color: #b00020; font-weight: 600; }
.hint { color: #666; font-size: 12px; }
)css";

// Draws the timeline from the embedded data: lanes, bars (waits), arrows (wakes), an axis; the
// wheel zooms around the pointer, dragging pans, a double click shows everything again.
constexpr const char* kScript = R"js(
(function () {
  'use strict';
  const errorBox = document.getElementById('report-error');
  function fail(message) {
    errorBox.hidden = false;
    errorBox.textContent = 'The timeline could not be drawn: ' + message;
    document.body.dataset.error = 'true';
  }
  window.addEventListener('error', function (e) { fail(e.message); });
  const data = JSON.parse(document.getElementById('timeline-data').textContent);
  const host = document.getElementById('timeline');
  const NS = 'http://www.w3.org/2000/svg';
  const laneHeight = 20, top = 26, left = 170, right = 10, maxArrows = 400;
  const width = Math.max(640, host.clientWidth || 1000);
  const height = top + data.lanes.length * laneHeight + 6;
  const span = Math.max(data.end, 0.001);
  let v0 = 0, v1 = span;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'timeline');
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  host.appendChild(svg);

  function node(name, attrs, parent, title) {
    const n = document.createElementNS(NS, name);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (title) {
      const t = document.createElementNS(NS, 'title');
      t.textContent = title;
      n.appendChild(t);
    }
    parent.appendChild(n);
    return n;
  }
  function x(t) { return left + (t - v0) / (v1 - v0) * (width - left - right); }
  function laneY(lane) { return top + lane * laneHeight; }
  function duration(t) {
    if (t < 1) return (t * 1000).toFixed(0) + ' ns';
    if (t < 1000) return t.toFixed(1) + ' µs';
    if (t < 1e6) return (t / 1000).toFixed(2) + ' ms';
    return (t / 1e6).toFixed(3) + ' s';
  }
  function step(range) {
    const raw = range / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const defs = node('defs', {}, svg);
    const marker = node('marker', {id: 'arrow', viewBox: '0 0 6 6', refX: '6', refY: '3',
                                   markerWidth: '6', markerHeight: '6', orient: 'auto'}, defs);
    node('path', {d: 'M0,0 L6,3 L0,6 z', fill: '#333'}, marker);
    const clip = node('clipPath', {id: 'plot'}, defs);
    node('rect', {x: left, y: 0, width: width - left - right, height: height}, clip);

    const lanes = node('g', {class: 'lanes'}, svg);
    data.lanes.forEach(function (lane, i) {
      node('rect', {x: 0, y: laneY(i), width: width, height: laneHeight,
                    fill: i % 2 ? '#fafafa' : '#f1f1f1'}, lanes);
      node('text', {class: 'lane', x: 6, y: laneY(i) + 14}, lanes).textContent = lane;
    });
    const axis = node('g', {class: 'axis'}, svg);
    const s = step(v1 - v0);
    for (let t = Math.ceil(v0 / s) * s; t <= v1; t += s) {
      node('line', {x1: x(t), x2: x(t), y1: top - 4, y2: height, stroke: '#ddd'}, axis);
      node('text', {x: x(t) + 2, y: top - 8}, axis).textContent = duration(t);
    }

    const plot = node('g', {'clip-path': 'url(#plot)'}, svg);
    let drawn = 0;
    for (const w of data.waits) {  // [lane, start, duration, word, op, result]
      if (w[1] > v1 || w[1] + w[2] < v0) continue;
      const x0 = Math.max(x(w[1]), left - 1), x1 = Math.min(x(w[1] + w[2]), width);
      const word = data.words[w[3]];
      node('rect', {class: 'wait', x: x0, y: laneY(w[0]) + 3, width: Math.max(x1 - x0, 1),
                    height: laneHeight - 6, fill: word.colour}, plot,
           data.ops[w[4]] + ' on ' + word.name + ': ' + duration(w[2]) + ', ' +
           data.results[w[5]]);
      ++drawn;
    }
    // Arrows only when they can be told apart: otherwise a note says how far to zoom in.
    const inView = data.flows.filter(function (f) { return f[3] >= v0 && f[1] <= v1; });
    let arrows = 0;
    if (inView.length <= maxArrows) {
      for (const f of inView) {  // [waker lane, wake time, woken lane, woken time]
        const y0 = laneY(f[0]) + laneHeight / 2, y1 = laneY(f[2]) + laneHeight / 2;
        node('circle', {class: 'wake', cx: x(f[1]), cy: y0, r: 2.5, fill: '#333'}, plot);
        node('line', {class: 'flow', x1: x(f[1]), y1: y0, x2: x(f[3]), y2: y1,
                      stroke: '#333', 'stroke-width': 1, 'marker-end': 'url(#arrow)'}, plot,
             data.lanes[f[0]] + ' woke ' + data.lanes[f[2]] + ' (' + duration(f[3] - f[1]) +
             ' later)');
        ++arrows;
      }
    }
    host.dataset.inview = String(inView.length);
    host.dataset.drawn = String(drawn);
    host.dataset.arrows = String(arrows);
    document.getElementById('view').textContent =
        'Showing ' + duration(v0) + ' – ' + duration(v1) + ' of ' + duration(span) +
        (arrows < inView.length ? '; zoom in to see the ' + inView.length + ' wake arrows here' : '');
  }

  svg.addEventListener('wheel', function (e) {
    e.preventDefault();
    const at = v0 + (e.offsetX - left) / (width - left - right) * (v1 - v0);
    const f = e.deltaY < 0 ? 0.8 : 1.25;
    v0 = Math.max(0, at - (at - v0) * f);
    v1 = Math.min(span, at + (v1 - at) * f);
    if (v1 - v0 < 0.01) v1 = v0 + 0.01;
    render();
  }, {passive: false});
  let dragFrom = null;
  svg.addEventListener('mousedown', function (e) { dragFrom = [e.clientX, v0, v1]; });
  window.addEventListener('mouseup', function () { dragFrom = null; });
  window.addEventListener('mousemove', function (e) {
    if (!dragFrom) return;
    const shift = (dragFrom[0] - e.clientX) / (width - left - right) * (dragFrom[2] - dragFrom[1]);
    const size = dragFrom[2] - dragFrom[1];
    v0 = Math.min(Math.max(0, dragFrom[1] + shift), span - size);
    v1 = v0 + size;
    render();
  });
  svg.addEventListener('dblclick', function () { v0 = 0; v1 = span; render(); });
  render();
})();
)js";

}  // namespace

std::string format_report(std::vector<TraceEvent> events, const AddressNamer& names,
                          const ReportContext& context) {
  sort_by_time(events);
  const std::vector<TraceCall> calls = pair_calls(events, true);
  const TraceProfile profile = profile_calls(calls);
  const std::uint64_t origin = events.empty() ? 0 : events.front().ts_ns;
  const std::uint64_t end = events.empty() ? 0 : events.back().ts_ns;

  // Lanes: every thread that recorded something, by process, then thread.
  std::map<std::pair<std::int32_t, std::int32_t>, int> lane_of;
  for (const TraceEvent& e : events) lane_of.emplace(std::make_pair(e.pid, e.tid), 0);
  std::set<std::int32_t> pids;
  json lanes = json::array();
  for (auto& [key, lane] : lane_of) {
    lane = static_cast<int>(lanes.size());
    pids.insert(key.first);
    lanes.push_back(key.first == key.second ? "main " + std::to_string(key.second) + " (pid)"
                                            : "thread " + std::to_string(key.second));
  }

  // Words: the contention rows first, in row order (they own the palette), then the rest.
  std::map<std::pair<std::int32_t, std::uint64_t>, std::size_t> word_of;
  json words = json::array();
  auto add_word = [&](std::int32_t pid, std::uint64_t uaddr) {
    const std::size_t i = words.size();
    words.push_back({{"name", hex(uaddr) + " (" + names.name(pid, uaddr) + ")"},
                     {"colour", i < std::min(kContentionRows, profile.words.size()) ? kPalette[i]
                                                                                : "#9a9a9a"}});
    return word_of.emplace(std::make_pair(pid, uaddr), i).first;
  };
  for (const WordProfile& w : profile.words) add_word(w.pid, w.uaddr);

  // Waits: the calls that slept (or were still asleep when the guest ended), longest first when
  // there are too many to draw.
  std::vector<const TraceCall*> slept;
  for (const TraceCall& c : calls) {
    if (describe_entry(*c.entry).sleeps_on_word && (c.exit == nullptr || wait_slept(c.result()))) slept.push_back(&c);
  }
  auto length = [end](const TraceCall* c) {
    return (c->exit != nullptr ? c->exit->ts_ns : end) - c->entry->ts_ns;
  };
  const std::size_t all_waits = slept.size();
  if (slept.size() > kTimelineWaits) {
    std::nth_element(slept.begin(), slept.begin() + kTimelineWaits, slept.end(),
                     [&](const TraceCall* a, const TraceCall* b) { return length(a) > length(b); });
    slept.resize(kTimelineWaits);
  }
  std::map<std::string, std::size_t> op_index, result_index;
  json ops = json::array(), results = json::array(), waits = json::array();
  auto index_of = [](std::map<std::string, std::size_t>& index, json& list, const std::string& s) {
    auto [it, added] = index.emplace(s, list.size());
    if (added) list.push_back(s);
    return it->second;
  };
  for (const TraceCall* c : slept) {
    const TraceEvent& e = *c->entry;
    auto word = word_of.find({e.pid, e.v[0]});
    if (word == word_of.end()) word = add_word(e.pid, e.v[0]);  // unfinished: not in the profile
    std::string result = "unfinished: the guest ended first";
    if (c->exit != nullptr) result = "= " + strace_result(c->result()).substr(3);
    waits.push_back({lane_of[{e.pid, e.tid}], us(e.ts_ns - origin), us(length(c)), word->second,
                     index_of(op_index, ops, call_name(e)), index_of(result_index, results, result)});
  }

  std::vector<WakeFlow> flows = wake_flows(events);
  const std::size_t all_flows = flows.size();
  if (flows.size() > kTimelineFlows) {  // keep the slowest hand-offs
    std::nth_element(flows.begin(), flows.begin() + kTimelineFlows, flows.end(),
                     [](const WakeFlow& a, const WakeFlow& b) {
                       return a.woken_ns - a.wake_ns > b.woken_ns - b.wake_ns;
                     });
    flows.resize(kTimelineFlows);
  }
  json arrows = json::array();
  for (const WakeFlow& f : flows) {
    arrows.push_back({lane_of[{f.pid, f.waker}], us(f.wake_ns - origin), lane_of[{f.pid, f.woken}],
                      us(f.woken_ns - origin)});
  }
  const json timeline = {{"lanes", lanes}, {"words", words}, {"ops", ops}, {"results", results},
                         {"waits", waits}, {"flows", arrows}, {"end", us(end - origin)}};
  std::string embedded = timeline.dump(-1, ' ', false, json::error_handler_t::replace);
  // "</script>" inside a string would end the script element: JSON allows "<\/" for "</".
  for (std::size_t at = 0; (at = embedded.find("</", at)) != std::string::npos; at += 3) {
    embedded.replace(at, 2, "<\\/");
  }

  std::string html;
  html.reserve(embedded.size() + 64 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>futexbox trace: " +
          escape(context.command) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>futexbox trace</h1>\n<p class=\"meta\"><code>" + escape(context.command) + "</code> " +
          escape(context.ending) + "</p>\n";
  char line[512];
  std::snprintf(line, sizeof line,
                "<p class=\"meta\" id=\"totals\">%" PRIu64 " futex calls in %s, %zu threads in %zu "
                "%s; %" PRIu64 " events dropped</p>\n",
                profile.total.calls, escape(format_duration(end - origin)).c_str(), lane_of.size(),
                pids.size(), pids.size() == 1 ? "process" : "processes", context.dropped);
  html += line;

  html += "<h2>Calls by futex op</h2>\n<table id=\"ops\">\n<tr><th class=\"name\">op</th><th>calls</th>"
          "<th>errors</th><th>total time</th><th>average</th><th>% time</th></tr>\n";
  auto op_row = [&](const OpProfile& r) {
    const double share = profile.total.ns == 0 ? 0.0 : 100.0 * static_cast<double>(r.ns) / static_cast<double>(profile.total.ns);
    std::snprintf(line, sizeof line,
                  "<tr><td class=\"op\">%s</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%s</td>"
                  "<td>%s</td><td>%.2f</td></tr>\n",
                  escape(r.name).c_str(), r.calls, r.errors, escape(format_duration(r.ns)).c_str(),
                  escape(format_duration(r.calls == 0 ? 0 : r.ns / r.calls)).c_str(), share);
    html += line;
  };
  for (const OpProfile& r : profile.ops) op_row(r);
  op_row(profile.total);
  html += "</table>\n";

  html += "<h2>Contention: futex words by total wait time</h2>\n";
  const std::size_t rows = std::min(profile.words.size(), kContentionRows);
  if (rows == 0) {
    html += "<p id=\"contention\">No call waited.</p>\n";
  } else {
    int first = kBuckets - 1, last = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      first = std::min(first, bucket_of(profile.words[i].waits.front()));
      last = std::max(last, bucket_of(profile.words[i].waits.back()));
    }
    html += "<table id=\"contention\">\n<tr><th class=\"name\">word</th><th>wait total</th><th>waits</th>"
            "<th>waiters</th><th>wakers</th><th>p50</th><th>p99</th><th>max</th>"
            "<th class=\"name\">wait times</th></tr>\n";
    for (std::size_t i = 0; i < rows; ++i) {
      const WordProfile& w = profile.words[i];
      html += "<tr class=\"word\"><td class=\"name\"><span class=\"swatch\" style=\"background:" +
              std::string(kPalette[i]) + "\"></span><code>" + hex(w.uaddr) + "</code> " +
              escape(names.name(w.pid, w.uaddr)) + "</td><td>" + escape(format_duration(w.wait_ns)) +
              "</td><td>" + std::to_string(w.waits.size()) + "</td><td>" +
              std::to_string(w.waiters.size()) + "</td><td>" + std::to_string(w.wakers.size()) +
              "</td><td>" + escape(format_duration(w.percentile(0.50))) + "</td><td>" +
              escape(format_duration(w.percentile(0.99))) + "</td><td>" +
              escape(format_duration(w.waits.back())) + "</td><td class=\"name\">" +
              histogram_svg(w, first, last, kPalette[i]) + "</td></tr>\n";
    }
    html += "</table>\n";
  }

  html += "<h2>Timeline</h2>\n<p class=\"hint\"><span id=\"view\"></span>. A bar is a wait, in its "
          "word's colour (grey: a word not in the table); an arrow runs from a wake to the thread it "
          "woke. Wheel: zoom; drag: pan; double click: everything.";
  if (all_waits > slept.size() || all_flows > flows.size()) {
    std::snprintf(line, sizeof line, " Drawn: the longest %zu of %zu waits and the slowest %zu of %zu wake-ups.",
                  slept.size(), all_waits, flows.size(), all_flows);
    html += line;
  }
  html += "</p>\n<div id=\"timeline\" data-drawn=\"0\" data-waits=\"" + std::to_string(slept.size()) +
          "\" data-flows=\"" + std::to_string(flows.size()) +
          "\"><noscript>The timeline needs JavaScript.</noscript></div>\n"
          "<p id=\"report-error\" hidden></p>\n"
          "<script type=\"application/json\" id=\"timeline-data\">" + embedded + "</script>\n<script>" +
          kScript + "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace futexbox::tools
