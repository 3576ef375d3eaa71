import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Series {
  label: string;
  values: number[];
  /** A CSS custom property holding the line's colour (light and dark themes differ). */
  colorVar: string;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** A uPlot line chart over time (seconds since the epoch), resized with its container. */
export function TimeChart({ times, series, title }: { times: number[]; series: Series[]; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--line') }, ticks: { stroke: cssVar('--line') } };
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: 260,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: cssVar(s.colorVar), width: 2, points: { show: times.length < 40 } }))],
        axes: [axis, { ...axis, size: 60 }],
        scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max * 1.1)] } },
      },
      [times, ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series]);
  return <div className="chart" ref={box} role="img" aria-label={title} />;
}
