//! Charts for `nfbpf report`, written as SVG and PNG with plotters.
//!
//! The axes' ticks are chosen here, not by plotters: an integer axis
//! (engines, ports) has integer ticks printed without decimals, a measured
//! axis has a tick at each measured point (the frame sizes of the runs),
//! and any other axis gets round steps (1, 2 or 5 times a power of ten)
//! printed with as many decimals as the step needs. The legend stands in
//! a strip right of the plot area, so it never covers the data.
//!
//! The PNG backend draws text with an embedded font (DejaVu Sans,
//! `assets/fonts/`, Bitstream Vera license), so no system font or
//! fontconfig is needed.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// One panel of a figure; a figure of several panels stacks them.
const PANEL: (u32, u32) = (900, 560);
/// Width of the legend strip right of the plot area.
const LEGEND_W: u32 = 170;
/// At most this many ticks on an axis with computed ticks; an integer axis
/// may show up to 17 (every engine count 0..16).
const MAX_TICKS: usize = 10;
const MAX_INT_TICKS: usize = 17;
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a chart.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn wide and light beneath the other series (a total that equals
    /// one of them where the others are 0 shows around it, not over it).
    pub under: bool,
}

/// How an axis gets its ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ticks {
    /// Round steps (1, 2, 5 x 10^k), decimals as the step needs.
    #[default]
    Auto,
    /// Whole numbers only, printed without decimals (engines, ports).
    Integer,
    /// A tick at every distinct coordinate of the series' points (x axis:
    /// the measured frame sizes).
    Measured,
}

/// How the series are drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Style {
    #[default]
    Lines,
    /// Lines, and a dot at each point.
    LinesDots,
    /// A dot at each point only (events, such as packets leaving).
    Dots,
}

/// A chart: series over linear axes, and vertical markers.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x: String,
    pub y: String,
    pub series: Vec<Series>,
    /// Vertical marker lines (x, label).
    pub marks: Vec<(f64, String)>,
    pub style: Style,
    pub x_ticks: Ticks,
    pub y_ticks: Ticks,
    /// Fixed axis ranges instead of the data's.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
}

fn font() -> anyhow::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded font DejaVuSans.ttf cannot be read"))
    }
}

/// Write `DIR/STEM.svg` and `DIR/STEM.png`: the charts stacked top to
/// bottom in one figure.
pub fn write_figure(dir: &Path, stem: &str, panels: &[Chart]) -> anyhow::Result<()> {
    font()?;
    let size = (PANEL.0, PANEL.1 * panels.len().max(1) as u32);
    let svg = dir.join(format!("{stem}.svg"));
    draw_figure(SVGBackend::new(&svg, size).into_drawing_area(), panels)
        .map_err(|e| anyhow!("{}: {e}", svg.display()))?;
    let png = dir.join(format!("{stem}.png"));
    draw_figure(BitMapBackend::new(&png, size).into_drawing_area(), panels)
        .map_err(|e| anyhow!("{}: {e}", png.display()))?;
    Ok(())
}

fn draw_figure<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Chart],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (c, area) in panels.iter().zip(areas) {
        c.draw(area)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Round tick steps: the smallest of 1, 2, 5 x 10^k that puts at most
/// `MAX_TICKS` ticks on `lo..=hi`; with `integer`, at least 1 and at most
/// `MAX_INT_TICKS` ticks.
fn step_for(lo: f64, hi: f64, integer: bool) -> f64 {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let most = if integer { MAX_INT_TICKS } else { MAX_TICKS };
    let mut p = 10f64.powf((span / most as f64).log10().floor());
    if integer {
        p = p.max(1.0);
    }
    loop {
        for m in [1.0, 2.0, 5.0] {
            let s = m * p;
            if ((span / s).floor() as usize) < most {
                return s;
            }
        }
        p *= 10.0;
    }
}

/// Multiples of `step` within `lo..=hi` (with a tolerance of rounding).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let eps = step * 1e-9;
    let first = ((lo - eps) / step).ceil() as i64;
    let last = ((hi + eps) / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Decimals that print every multiple of `step` exactly (0 for steps of
/// 1 and more).
fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

/// A tick label: `decimals` digits after the point, `-0` printed as `0`.
pub fn format_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// The ticks of an axis over `lo..=hi` and the decimals of their labels;
/// `data` are the series' coordinates on that axis (for `Ticks::Measured`).
pub fn ticks(kind: Ticks, lo: f64, hi: f64, data: &[f64]) -> (Vec<f64>, usize) {
    match kind {
        Ticks::Measured => {
            let mut v: Vec<f64> = data
                .iter()
                .copied()
                .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            let d = v
                .iter()
                .map(|&x| {
                    (0..6)
                        .find(|&d| (x * 10f64.powi(d as i32)).fract().abs() < 1e-9)
                        .unwrap_or(6)
                })
                .max()
                .unwrap_or(0);
            (v, d)
        }
        Ticks::Integer | Ticks::Auto => {
            let step = step_for(lo, hi, kind == Ticks::Integer);
            (multiples(lo, hi, step), decimals(step))
        }
    }
}

/// A linear axis whose ticks are exactly `ticks` (and no minor grid).
#[derive(Clone)]
struct TickedAxis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        TickedAxis {
            linear: (lo..hi).into(),
            ticks,
        }
    }
}

impl Ranged for TickedAxis {
    type ValueType = f64;
    // The labels come from the chart's formatter (`format_tick`).
    type FormatOption = DefaultFormatting;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(v, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

impl Chart {
    /// Write `DIR/STEM.svg` and `DIR/STEM.png`.
    pub fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<()> {
        write_figure(dir, stem, std::slice::from_ref(self))
    }

    fn xs(&self) -> Vec<f64> {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect()
    }

    fn ys(&self) -> Vec<f64> {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .collect()
    }

    /// The axis ranges: the given ones, or the data's (x padded by 3 % on
    /// each side when the points are drawn as dots, so that none sits on
    /// the frame; y from 0 with room above the highest point for the
    /// markers' labels).
    pub fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let x = self.x_range.unwrap_or_else(|| {
            let xs = self.xs();
            let marks = self.marks.iter().map(|m| m.0);
            let (mut x0, mut x1) = xs
                .iter()
                .copied()
                .chain(marks)
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if !x0.is_finite() {
                (x0, x1) = (0.0, 1.0);
            }
            if x1 <= x0 {
                (x0, x1) = (x0 - 0.5, x0 + 0.5);
            }
            if self.style != Style::Lines {
                let pad = (x1 - x0) * 0.03;
                (x0, x1) = (x0 - pad, x1 + pad);
            }
            (x0, x1)
        });
        let y = self.y_range.unwrap_or_else(|| {
            let top = self
                .ys()
                .into_iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max);
            (0.0, if top > 0.0 { top * 1.12 } else { 1.0 })
        });
        (x, y)
    }

    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let ((x0, x1), (y0, y1)) = self.ranges();
        let (xt, xd) = ticks(self.x_ticks, x0, x1, &self.xs());
        let (yt, yd) = ticks(self.y_ticks, y0, y1, &self.ys());
        let area = area.titled(&self.title, ("sans-serif", 20)).map_err(e)?;
        let w = area.dim_in_pixel().0;
        let (plot, legend) = area.split_horizontally(w.saturating_sub(LEGEND_W));
        let mut ch = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(TickedAxis::new(x0, x1, xt), TickedAxis::new(y0, y1, yt))
            .map_err(e)?;
        let xf = move |v: &f64| format_tick(*v, xd);
        let yf = move |v: &f64| format_tick(*v, yd);
        ch.configure_mesh()
            .x_desc(&self.x)
            .y_desc(&self.y)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        for (k, (x, label)) in self.marks.iter().enumerate() {
            let style = BLACK.mix(0.6).stroke_width(1);
            ch.draw_series(LineSeries::new(vec![(*x, y0), (*x, y1)], style))
                .map_err(e)?;
            // Labels of neighbouring markers on three heights in turn.
            let at = y0 + (y1 - y0) * (0.97 - 0.06 * (k % 3) as f64);
            ch.draw_series(std::iter::once(Text::new(
                format!(" {label}"),
                (*x, at),
                ("sans-serif", 13),
            )))
            .map_err(e)?;
        }
        let order = self.series.iter().enumerate();
        for (i, s) in order
            .clone()
            .filter(|s| s.1.under)
            .chain(order.filter(|s| !s.1.under))
        {
            let c = COLORS[i % COLORS.len()];
            if self.style != Style::Dots {
                let line = if s.under {
                    c.mix(0.4).stroke_width(7)
                } else {
                    c.stroke_width(2)
                };
                ch.draw_series(LineSeries::new(s.points.iter().copied(), line))
                    .map_err(e)?;
            }
            if self.style != Style::Lines {
                ch.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(e)?;
            }
        }
        self.draw_legend(&legend).map_err(e)?;
        Ok(())
    }

    /// The legend in its own strip: a swatch and the name of each series,
    /// from the top of the plot area down.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for (i, s) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let y = 24 + 24 * i as i32;
            if self.style == Style::Dots {
                area.draw(&Circle::new((14, y), 4, c.filled()))?;
            } else {
                let line = if s.under {
                    c.mix(0.4).stroke_width(7)
                } else {
                    c.stroke_width(2)
                };
                area.draw(&PathElement::new(vec![(4, y), (28, y)], line))?;
            }
            area.draw(&Text::new(s.name.clone(), (36, y - 8), ("sans-serif", 14)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_ticks_are_the_measured_points() {
        let pts = [64.0, 128.0, 256.0, 512.0, 1024.0, 1500.0, 64.0];
        let (t, d) = ticks(Ticks::Measured, 20.0, 1550.0, &pts);
        assert_eq!(t, vec![64.0, 128.0, 256.0, 512.0, 1024.0, 1500.0]);
        assert_eq!(d, 0);
        let labels: Vec<String> = t.iter().map(|&v| format_tick(v, d)).collect();
        assert_eq!(labels, ["64", "128", "256", "512", "1024", "1500"]);
        // Points outside the range get no tick.
        assert_eq!(
            ticks(Ticks::Measured, 100.0, 600.0, &pts).0,
            [128.0, 256.0, 512.0]
        );
    }

    #[test]
    fn integer_axes_print_integers() {
        // 1..16 engines, padded: every engine count, no decimals.
        let (t, d) = ticks(Ticks::Integer, 0.55, 16.45, &[]);
        assert_eq!(t, (1..=16).map(f64::from).collect::<Vec<_>>());
        assert_eq!(d, 0);
        assert_eq!(format_tick(2.0, d), "2");
        // Ports -0.6..2.4: 0, 1, 2; never 0.5.
        let (t, d) = ticks(Ticks::Integer, -0.6, 2.4, &[]);
        assert_eq!((t, d), (vec![0.0, 1.0, 2.0], 0));
        // A short integer range still steps by 1, not 0.1.
        let (t, _) = ticks(Ticks::Integer, 0.0, 1.0, &[]);
        assert_eq!(t, vec![0.0, 1.0]);
        // Many values: steps of 2, 5, 10 ... all integers.
        let (t, d) = ticks(Ticks::Integer, 0.0, 37.0, &[]);
        assert!(t.len() <= MAX_INT_TICKS && t.iter().all(|v| v.fract() == 0.0));
        assert_eq!(d, 0);
    }

    #[test]
    fn auto_ticks_are_round_with_the_decimals_they_need() {
        let (t, d) = ticks(Ticks::Auto, 0.0, 112.0, &[]);
        assert_eq!(t, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(format_tick(t[1], d), "20");
        let (t, d) = ticks(Ticks::Auto, 0.0, 0.7, &[]);
        assert_eq!(d, 1);
        assert_eq!(
            t.iter().map(|&v| format_tick(v, d)).collect::<Vec<_>>(),
            ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
        );
        // Around a point far from zero: steps of 0.2 us at 5000 us.
        let (t, d) = ticks(Ticks::Auto, 4999.1, 5000.9, &[]);
        assert_eq!(d, 1);
        assert_eq!(format_tick(t[0], d), "4999.2");
        assert!(t.len() <= MAX_TICKS);
        assert_eq!(format_tick(-0.0, 1), "0.0");
        assert_eq!(format_tick(-0.04, 1), "0.0");
    }

    #[test]
    fn ranges_pad_dots_and_leave_room_above() {
        let c = Chart {
            series: vec![Series {
                name: "a".into(),
                points: vec![(64.0, 10.0), (1500.0, 50.0)],
                under: false,
            }],
            style: Style::LinesDots,
            ..Chart::default()
        };
        let ((x0, x1), (y0, y1)) = c.ranges();
        assert!(x0 < 64.0 && x1 > 1500.0);
        assert_eq!(y0, 0.0);
        assert!(y1 > 50.0);
        let fixed = Chart {
            x_range: Some((1.0, 2.0)),
            y_range: Some((-0.5, 1.5)),
            ..c
        };
        assert_eq!(fixed.ranges(), ((1.0, 2.0), (-0.5, 1.5)));
    }
}
