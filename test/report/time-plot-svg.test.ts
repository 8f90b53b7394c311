import test from 'ava';
import {
  niceByteStep,
  niceCountStep,
  niceSecondStep,
  plotAxes,
  plotLegend,
  plotPolyline,
  plotScale,
} from '../../src/report/time-plot-svg.js';

test('scales: 1-2-5 steps in bytes, seconds and counts; x and y map onto the plot area', (t) => {
  t.is(niceByteStep(3.5 * 1024 * 1024), 5 * 1024 * 1024);
  t.is(niceSecondStep(0.0007), 0.001);
  t.is(niceCountStep(7.3), 10);
  t.is(niceCountStep(23), 50);
  t.is(niceCountStep(0.4), 1);
  const scale = plotScale(1000, 480, 10, 20, 1000, niceCountStep);
  t.deepEqual(scale.area, { x: 84, y: 68, width: 892, height: 338 });
  t.is(scale.x(10), 84);
  t.is(scale.x(20), 976);
  t.is(scale.y(0), 406);
  t.is(scale.yMax, 1200);
});

test('axes, a line and a legend: grid lines with labels, points to one decimal, names escaped', (t) => {
  const scale = plotScale(1000, 480, 0, 4, 4096, niceCountStep);
  const axes = plotAxes(scale, String, 'event number');
  t.is(axes.filter((line) => line.includes('text-anchor="end"')).length, 6);
  t.true(axes.at(-1)!.endsWith('>event number</text>'));
  t.is(
    plotPolyline({ name: 'a<b', color: '#000' }, [
      [1.26, 2.04],
      [3, 4],
    ]),
    '<polyline class="series" data-name="a&lt;b" points="1.3,2 3,4" fill="none" stroke="#000" stroke-width="1.8"><title>a&lt;b</title></polyline>',
  );
  t.is(plotLegend(480, 84, [{ name: 'RSS', color: '#111' }], [{ name: 'mark', color: '#222', dash: '4 3' }]).length, 4);
});
