import * as vega from 'vega';
import * as vl from 'vega-lite';

/** A horizontal bar chart as SVG (vega-lite, rendered headless). */
export async function barChartSvg(title: string, rows: { label: string; value: number; group?: string }[], unit: string, logScale = false): Promise<string> {
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 480,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      x: { field: 'value', type: 'quantitative', title: unit, scale: logScale ? { type: 'log' } : {} },
      ...(rows.some((r) => r.group) ? { color: { field: 'group', type: 'nominal', title: null } } : {}),
    },
  } as vl.TopLevelSpec).spec;
  return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
}
