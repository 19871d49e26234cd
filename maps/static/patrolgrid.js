/* patrolgrid map helpers: styles, popups, charts, legend and time slider.
 * Written for this project; Leaflet (window.L) must be loaded first. Every colour is
 * computed in Python into a feature property, so one small style function serves every
 * grid (no per-feature JavaScript). */
var PG = (function () {
  "use strict";
  var T = {};

  function esc(s) {
    return String(s === undefined || s === null ? "" : s)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function unit(value, suffix) {
    return value === undefined || value === null ? undefined : value + " " + suffix;
  }

  function row(label, value) {
    if (value === undefined || value === null || value === "") { return ""; }
    return "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>";
  }

  function howSvg(code) {
    if (!code || !/[1-9]/.test(code)) { return ""; }
    var days = T.weekdays.split(","), c = 7, left = 30, top = 10;
    var out = ['<svg xmlns="http://www.w3.org/2000/svg" class="pg-how" width="' +
      (left + 24 * c + 2) + '" height="' + (top + 7 * c + 2) +
      '" font-size="8" font-family="sans-serif">',
      '<rect x="' + left + '" y="' + top + '" width="' + 24 * c + '" height="' + 7 * c +
      '" fill="#f4f4f4"/>'];
    [0, 6, 12, 18].forEach(function (h) {
      out.push('<text x="' + (left + h * c) + '" y="' + (top - 2) + '">' + h + "</text>");
    });
    for (var d = 0; d < 7; d++) {
      out.push('<text x="0" y="' + (top + d * c + c - 1) + '">' + esc(days[d]) + "</text>");
      for (var h = 0; h < 24; h++) {
        var level = +code.charAt(d * 24 + h);
        if (!level) { continue; }
        out.push('<rect x="' + (left + h * c) + '" y="' + (top + d * c) + '" width="' + c +
          '" height="' + c + '" fill="#c0392b" fill-opacity="' + (level / 9).toFixed(2) + '"/>');
      }
    }
    out.push("</svg>");
    return out.join("");
  }

  function gridStyle(f) {
    return {fillColor: f.properties.c, fillOpacity: 0.55, color: "#666", weight: 0.4,
      opacity: 0.7};
  }

  function gridPopup(f) {
    var p = f.properties;
    return '<div class="pg-popup"><b>' + esc(p.name || p.id) + "</b><table>" +
      row(T.grid, p.id) + row(T.level, T[p.level] || p.level) + row(T.count, p.n) +
      row(T.risk, p.r) + row(T.top, p.top) + row(T.hours, p.hours) + row(T.why, p.why) +
      row(T.response, unit(p.resp, T.minutes)) + row(T.handling, unit(p.hand, T.minutes)) +
      row(T.closure, unit(p.close, "%")) + row(T.overdue, p.over) +
      row(T.satisfaction, unit(p.sat, "%")) + "</table>" + howSvg(p.how) + "</div>";
  }

  /* All grids on one canvas, one style function, one click handler for every popup (no
   * per-feature closures: 20,000 grids cost only their geometry). */
  function grids(data, map) {
    var layer = L.geoJson(data, {style: gridStyle, renderer: L.canvas()});
    layer.on("click", function (e) {
      L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(gridPopup(e.layer.feature)).openOn(map);
    });
    return layer;
  }

  function borderStyle(f) {
    var w = {district: 3, street: 2, community: 1.2}[f.properties.level] || 1;
    return {fill: false, color: "#1f3b73", weight: w, opacity: 0.9, dashArray: w < 2 ? "4 3" : null};
  }

  function borderTooltip(f) {
    return esc((T[f.properties.level] || f.properties.level) + ": " + (f.properties.name || f.properties.id));
  }

  function streetStyle() {
    return {color: "#9aa3ad", weight: 1, opacity: 0.9};
  }

  /* offset: the k-th marker at one place (stops of several routes meeting) is moved 18 px
   * to the right per k, so every number stays readable */
  function numberIcon(text, color, square, offset) {
    var k = offset || 0;
    return L.divIcon({
      className: square ? "pg-depot" : "pg-stop",
      html: '<div style="background:' + color + ";border-radius:" + (square ? "2px" : "50%") +
        ';color:#fff;font:bold 11px sans-serif;width:20px;height:20px;line-height:20px;' +
        'text-align:center;border:1px solid #fff;box-shadow:0 0 2px #000">' + esc(text) + "</div>",
      iconSize: [20, 20], iconAnchor: [10 - 18 * k, 10]
    });
  }

  /* routes: [{unit, kind, color, line: [[lat, lon], ...], depot: [lat, lon] | null,
   *           stops: [[lat, lon, order, grid, arrival, departure, dwell_min, why, offset], ...]}] */
  function routes(data) {
    var group = L.featureGroup();
    data.forEach(function (r) {
      if (r.line.length > 1) {
        L.polyline(r.line, {color: r.color, weight: 4, opacity: 0.85})
          .bindTooltip(esc(T.unit + " " + r.unit + " (" + r.kind + ")"))
          .addTo(group);
      }
      r.stops.forEach(function (s) {
        L.marker([s[0], s[1]], {icon: numberIcon(s[2], r.color, false, s[8]), zIndexOffset: 500})
          .bindPopup('<div class="pg-popup"><b>' + esc(r.unit) + " #" + s[2] + "</b><table>" +
            row(T.kind, r.kind) + row(T.grid, s[3]) + row(T.arrival, s[4]) +
            row(T.departure, s[5]) + row(T.dwell, s[6] + " " + T.minutes) +
            (s[7] ? row(T.why, s[7]) : "") + "</table></div>")
          .addTo(group);
      });
    });
    return group;
  }

  function depots(data) {
    var group = L.featureGroup();
    data.forEach(function (d) {
      L.marker([d[0], d[1]], {icon: numberIcon("D", "#222", true)})
        .bindTooltip(esc(T.depot + ": " + d[2])).addTo(group);
    });
    return group;
  }

  /* points: [[lat, lon, label, count], ...]; a cluster shows the sum of its markers' counts */
  function clusters(points) {
    var group = L.markerClusterGroup({chunkedLoading: true, iconCreateFunction: function (c) {
      var n = 0;
      c.getAllChildMarkers().forEach(function (m) { n += m.options.n || 1; });
      var size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
      return L.divIcon({html: "<div><span>" + n + "</span></div>",
        className: "marker-cluster marker-cluster-" + size, iconSize: L.point(40, 40)});
    }});
    var icon = L.divIcon({className: "pg-inc", iconSize: [10, 10],
      html: '<div style="width:10px;height:10px;border-radius:50%;background:#d35400;border:1px solid #fff"></div>'});
    var markers = points.map(function (p) {
      var n = p[3] || 1;
      var mark = n > 1 ? L.divIcon({className: "pg-inc", iconSize: [18, 18], html:
        '<div style="width:18px;height:18px;line-height:18px;border-radius:50%;background:#d35400;' +
        'color:#fff;font:bold 10px sans-serif;text-align:center;border:1px solid #fff">' + n + "</div>"}) : icon;
      return L.marker([p[0], p[1]], {icon: mark, n: n}).bindTooltip(esc(p[2]));
    });
    group.addLayers(markers);
    return group;
  }

  /* warnings: [[lat, lon, name, why], ...] */
  function warnings(data) {
    var group = L.featureGroup();
    data.forEach(function (w) {
      L.marker([w[0], w[1]], {icon: L.divIcon({className: "pg-warn", iconSize: [22, 22],
        iconAnchor: [11, 11], html: '<div style="width:0;height:0;border-left:11px solid transparent;' +
        'border-right:11px solid transparent;border-bottom:20px solid #e60000;position:relative">' +
        '<span style="position:absolute;left:-3px;top:5px;color:#fff;font:bold 12px sans-serif">!</span></div>'})})
        .bindPopup('<div class="pg-popup"><b>' + esc(T.warning) + "</b><br>" + esc(w[2]) +
          (w[3] ? "<br>" + esc(w[3]) : "") + "</div>")
        .addTo(group);
    });
    return group;
  }

  /* data: {hour: [[lat, lon, hour, count], ...], day: [[lat, lon, weekday, count], ...]};
   * a slider shows all incidents, one hour of the day or one weekday (Monday = 0). */
  function byTime(map, data, title) {
    var group = L.layerGroup(), mode = "hour";
    var days = T.weekdays.split(",");
    var totals = {}, maxAll = 1, maxOf = {hour: 1, day: 1};
    data.hour.forEach(function (b) {
      var k = b[0] + "," + b[1];
      totals[k] = (totals[k] || [b[0], b[1], 0]);
      totals[k][2] += b[3];
      if (totals[k][2] > maxAll) { maxAll = totals[k][2]; }
    });
    ["hour", "day"].forEach(function (m) {
      data[m].forEach(function (b) { if (b[3] > maxOf[m]) { maxOf[m] = b[3]; } });
    });
    function draw(value) {
      group.clearLayers();
      var items = value < 0 ? Object.keys(totals).map(function (k) { return totals[k]; }) :
        data[mode].filter(function (b) { return b[2] === value; }).map(function (b) { return [b[0], b[1], b[3]]; });
      var top = value < 0 ? maxAll : maxOf[mode];
      items.forEach(function (it) {
        L.circleMarker([it[0], it[1]], {radius: 3 + 9 * Math.sqrt(it[2] / top), color: "#8e44ad",
          weight: 1, fillOpacity: 0.5}).bindTooltip(String(it[2])).addTo(group);
      });
    }
    var control = L.control({position: "bottomleft"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "pg-slider");
      div.style.cssText = "background:#fff;padding:4px 8px;border-radius:4px;font:12px sans-serif";
      div.innerHTML = esc(title) + ' <select><option value="hour">' + esc(T.hour) +
        '</option><option value="day">' + esc(T.day) + '</option></select>: <span class="pg-hour">' +
        esc(T.all) + '</span><br><input type="range" min="-1" max="23" value="-1" style="width:200px">';
      var input = div.querySelector("input"), label = div.querySelector(".pg-hour");
      var select = div.querySelector("select");
      function update() {
        var v = +input.value;
        label.textContent = v < 0 ? T.all : (mode === "hour" ? v + ":00" : days[v]);
        draw(v);
      }
      input.addEventListener("input", update);
      select.addEventListener("change", function () {
        mode = select.value;
        input.max = mode === "hour" ? 23 : 6;
        input.value = -1;
        update();
      });
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    group.on("add", function () { control.addTo(map); });
    group.on("remove", function () { control.remove(); });
    draw(-1);
    return group;
  }

  function legend(map, title, items) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "pg-legend");
      div.style.cssText = "background:#fff;padding:6px 8px;border-radius:4px;font:12px sans-serif;line-height:18px";
      div.innerHTML = "<b>" + esc(title) + "</b><br>" + items.map(function (it) {
        return '<i style="display:inline-block;width:14px;height:14px;margin-right:5px;vertical-align:middle;background:' +
          it[0] + ';opacity:0.8"></i>' + esc(it[1]);
      }).join("<br>");
      return div;
    };
    control.addTo(map);
    return control;
  }

  /* A layer group that builds its content the first time it is shown (hidden layers cost
   * nothing at page load). */
  function lazy(factory) {
    var group = L.layerGroup(), built = false;
    group.on("add", function () {
      if (!built) { built = true; group.addLayer(factory()); }
    });
    return group;
  }

  function jsonData(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  return {
    lazy: lazy, jsonData: jsonData,
    setLabels: function (labels) { T = labels; },
    esc: esc, howSvg: howSvg, gridStyle: gridStyle, gridPopup: gridPopup, grids: grids,
    borderStyle: borderStyle, borderTooltip: borderTooltip, streetStyle: streetStyle,
    routes: routes, depots: depots, clusters: clusters, warnings: warnings, byTime: byTime,
    legend: legend
  };
})();
