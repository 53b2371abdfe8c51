//! Line charts for `nfbpf report`, written as SVG and PNG with plotters.
//!
//! The PNG backend draws text with an embedded font (DejaVu Sans,
//! `assets/fonts/`, Bitstream Vera license), so no system font or
//! fontconfig is needed.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const SIZE: (u32, u32) = (900, 560);
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A chart: lines over a linear x axis, and vertical markers.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x: String,
    pub y: String,
    pub series: Vec<Series>,
    /// Vertical marker lines (x, label).
    pub marks: Vec<(f64, String)>,
    /// Draw the points as dots too.
    pub dots: bool,
    /// Legend at the middle right instead of the lower right.
    pub legend_middle: bool,
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

impl Chart {
    /// Write `DIR/STEM.svg` and `DIR/STEM.png`.
    pub fn write(&self, dir: &Path, stem: &str) -> anyhow::Result<()> {
        font()?;
        let svg = dir.join(format!("{stem}.svg"));
        self.draw(SVGBackend::new(&svg, SIZE).into_drawing_area())
            .map_err(|e| anyhow!("{}: {e}", svg.display()))?;
        let png = dir.join(format!("{stem}.png"));
        self.draw(BitMapBackend::new(&png, SIZE).into_drawing_area())
            .map_err(|e| anyhow!("{}: {e}", png.display()))?;
        Ok(())
    }

    fn ranges(&self) -> (f64, f64, f64, f64) {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        for &(x, _) in &self.marks {
            x0 = x0.min(x);
            x1 = x1.max(x);
        }
        if !x0.is_finite() || !x1.is_finite() {
            (x0, x1) = (0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= 0.0 {
            y1 = 1.0;
        }
        (x0, x1, 0.0, y1 * 1.12)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let (x0, x1, y0, y1) = self.ranges();
        let mut ch = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        ch.configure_mesh()
            .x_desc(&self.x)
            .y_desc(&self.y)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        for (x, label) in &self.marks {
            let style = BLACK.mix(0.6).stroke_width(1);
            ch.draw_series(LineSeries::new(vec![(*x, y0), (*x, y1)], style))
                .map_err(e)?;
            ch.draw_series(std::iter::once(Text::new(
                label.clone(),
                (*x, y1 * 0.97),
                ("sans-serif", 13),
            )))
            .map_err(e)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            ch.draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(e)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            if self.dots {
                ch.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(e)?;
            }
        }
        ch.configure_series_labels()
            .position(if self.legend_middle {
                SeriesLabelPosition::MiddleRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
        Ok(())
    }
}
