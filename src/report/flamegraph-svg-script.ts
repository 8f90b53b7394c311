// The script inside the flame graph SVG: zoom, search and details. Frames carry their position as
// fractions of the whole (data-x, data-w) and their depth, so zooming is a recomputation, not a
// re-layout. Written for any browser's SVG DOM; no libraries. Must not contain "]]>".
// Everything is looked up inside the script's own <svg>, not the document: the same graph works as
// an .svg file and inlined, several to a page, in the HTML report (stack-html.ts).
export const FLAMEGRAPH_SCRIPT = `
(function () {
  var script = document.currentScript;
  var svg = (script && script.closest('svg')) || document.documentElement;
  var standalone = svg === document.documentElement;
  var chartWidth = Number(svg.getAttribute('data-chart-width'));
  var side = Number(svg.getAttribute('data-side'));
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.frame'));
  var details = svg.querySelector('.details');
  var reset = svg.querySelector('.reset');
  var matched = svg.querySelector('.matched');
  function num(g, name) { return Number(g.getAttribute('data-' + name)); }
  function label(name, widthPx) {
    var chars = Math.floor((widthPx - 6) / 7.5);
    if (chars < 3) return '';
    return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
  }
  function place(g, x, w) {
    var rect = g.querySelector('rect');
    var text = g.querySelector('text');
    var px = side + x * chartWidth;
    var pw = w * chartWidth;
    rect.setAttribute('x', px.toFixed(2));
    rect.setAttribute('width', Math.max(0, pw).toFixed(2));
    text.setAttribute('x', (px + 3).toFixed(2));
    text.textContent = label(g.getAttribute('data-name'), pw);
  }
  function zoom(target) {
    var x0 = num(target, 'x'), w0 = num(target, 'w'), d0 = num(target, 'depth');
    var eps = 1e-12;
    frames.forEach(function (g) {
      var x = num(g, 'x'), w = num(g, 'w'), d = num(g, 'depth');
      g.classList.remove('faded');
      if (d >= d0 && x >= x0 - eps && x + w <= x0 + w0 + eps) {
        g.style.display = '';
        place(g, (x - x0) / w0, w / w0);
      } else if (d < d0 && x <= x0 + eps && x + w >= x0 + w0 - eps) {
        g.style.display = '';
        g.classList.add('faded');
        place(g, 0, 1);
      } else {
        g.style.display = 'none';
      }
    });
    reset.setAttribute('visibility', d0 === 0 ? 'hidden' : 'visible');
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', function () { if (frames.length) zoom(frames[0]); });
  function search() {
    var pattern = window.prompt('Search frames (regular expression; empty to clear)', '');
    if (pattern === null) return;
    var expression;
    try { expression = new RegExp(pattern); } catch (error) { window.alert('Not a regular expression: ' + error.message); return; }
    var spans = [];
    frames.forEach(function (g) {
      var hit = pattern !== '' && expression.test(g.getAttribute('data-name'));
      g.classList.toggle('match', hit);
      if (hit) spans.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]);
    });
    // The share of the total under matched frames, counting nested matches once.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, end = -1;
    spans.forEach(function (span) {
      if (span[0] >= end) { covered += span[1] - span[0]; end = span[1]; }
      else if (span[1] > end) { covered += span[1] - end; end = span[1]; }
    });
    matched.textContent = pattern === '' ? '' : 'Matched: ' + (covered * 100).toFixed(2) + '%';
  }
  svg.querySelector('.search').addEventListener('click', search);
  // Ctrl-F belongs to the graph only when it is the whole document; in a page it stays the browser's.
  if (standalone) window.addEventListener('keydown', function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === 'f') { event.preventDefault(); search(); }
  });
})();
`;
