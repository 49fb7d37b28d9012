// ECharts, tree-shaken: only the line and bar charts and the components the results page
// draws. This module is imported lazily by the results page, so the initial bundle stays small.
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { DatasetComponent, GridComponent, LegendComponent, TooltipComponent,
  AriaComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, DatasetComponent, GridComponent, LegendComponent,
  TooltipComponent, AriaComponent, CanvasRenderer]);

export interface Series { name: string; values: number[]; type: "line" | "bar"; axis?: 0 | 1 }

const live = new Map<HTMLElement, echarts.ECharts>();

/** Draw (or redraw) a chart in ``host``: x categories and named series from one dataset. */
export function draw(host: HTMLElement, x: string[], series: Series[], horizontal = false): void {
  let chart = live.get(host);
  if (!chart || chart.isDisposed()) {
    chart = echarts.init(host, undefined, { renderer: "canvas" });
    live.set(host, chart);
    new ResizeObserver(() => chart?.resize()).observe(host);
  }
  const source = [["x", ...series.map((s) => s.name)],
    ...x.map((d, i) => [d, ...series.map((s) => s.values[i] ?? 0)])];
  const cat = { type: "category" as const };
  const val = { type: "value" as const, minInterval: 1 };
  const twoAxes = series.some((s) => s.axis === 1);
  chart.setOption({
    aria: { enabled: true },
    animation: false,
    color: ["#1f5fd1", "#b4232a", "#1c6b3a", "#8a5a00", "#5c2f91", "#4a5160"],
    dataset: { source },
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 56, right: twoAxes ? 64 : 24, top: 36, bottom: 32, containLabel: true },
    xAxis: horizontal ? val : cat,
    yAxis: horizontal ? cat : twoAxes ? [val, { ...val, splitLine: { show: false } }] : val,
    series: series.map((s) => ({ type: s.type, name: s.name, yAxisIndex: horizontal ? 0 : s.axis ?? 0,
      encode: horizontal ? { y: "x", x: s.name } : { x: "x", y: s.name }, showSymbol: false })),
  }, true);
}
