//! The reliability diagram: observed rate of positives against mean predicted probability per
//! bin, before and after calibration, over the identity line; bin counts in a lower panel.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::metrics::ReliabilityBin;

use super::font::FAMILY;
use super::style::{AXIS_DESC_SIZE, GREY, LIGHT_GREY, TICK_SIZE, TITLE_SIZE};

/// Raw scores: orange; calibrated: blue (tab10's first two colours).
const RAW: RGBColor = RGBColor(255, 127, 14);
const CALIBRATED: RGBColor = RGBColor(31, 119, 180);

/// What the reliability figure shows.
pub(super) struct ReliabilityFigure<'a> {
    pub raw: &'a [ReliabilityBin],
    pub calibrated: &'a [ReliabilityBin],
    /// Legend entries, e.g. "raw (ECE 0.083)".
    pub raw_label: String,
    pub calibrated_label: String,
    /// Line under the title (ECE before and after, pairs, bins).
    pub subtitle: String,
}

/// Draws the figure on any plotters backend.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &ReliabilityFigure<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (header, body) = root.split_vertically(72);
    let centre = Pos::new(HPos::Center, VPos::Center);
    header.draw(&Text::new(
        "Reliability diagram over all (sample, label) pairs",
        (w as i32 / 2, 22),
        TextStyle::from((FAMILY, TITLE_SIZE).into_font()).pos(centre),
    ))?;
    header.draw(&Text::new(
        fig.subtitle.clone(),
        (w as i32 / 2, 54),
        TextStyle::from((FAMILY, 16).into_font()).pos(centre),
    ))?;
    let (upper, lower) = body.split_vertically(430);
    draw_curves(&upper, fig)?;
    draw_counts(&lower, fig)
}

fn draw_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &ReliabilityFigure<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .margin_left(16)
        .margin_right(24)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.01f64..1.01f64, -0.01f64..1.01f64)?;
    chart
        .configure_mesh()
        .x_desc("Mean predicted probability in bin")
        .y_desc("Observed fraction of positives")
        .axis_desc_style((FAMILY, AXIS_DESC_SIZE))
        .label_style((FAMILY, TICK_SIZE))
        .x_labels(11)
        .y_labels(6)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .bold_line_style(LIGHT_GREY)
        .light_line_style(WHITE)
        .draw()?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            6,
            GREY.stroke_width(1),
        ))?
        .label("perfect calibration")
        .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, GREY));
    for (bins, color, label) in [
        (fig.raw, RAW, &fig.raw_label),
        (fig.calibrated, CALIBRATED, &fig.calibrated_label),
    ] {
        let points: Vec<(f64, f64)> = bins
            .iter()
            .map(|b| (b.mean_predicted, b.observed_rate))
            .collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .margin(12)
        .draw()
}

fn draw_counts<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &ReliabilityFigure<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let max_count = fig
        .raw
        .iter()
        .chain(fig.calibrated)
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1);
    // Log scale: in multilabel data most pairs sit in the lowest bin; a linear axis would hide
    // every other bin. Bars start at 0.8 so a count of 1 is still visible.
    let mut chart = ChartBuilder::on(area)
        .margin_left(16)
        .margin_right(24)
        .margin_top(8)
        .margin_bottom(8)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(
            -0.01f64..1.01f64,
            (0.8f64..max_count as f64 * 3.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("Predicted probability (bins; left bar raw, right bar calibrated)")
        .y_desc("Pairs per bin (log)")
        .axis_desc_style((FAMILY, 16))
        .label_style((FAMILY, TICK_SIZE))
        .x_labels(11)
        .y_labels(5)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .bold_line_style(LIGHT_GREY)
        .light_line_style(WHITE)
        .draw()?;
    for (bins, color, right) in [(fig.raw, RAW, false), (fig.calibrated, CALIBRATED, true)] {
        chart.draw_series(bins.iter().map(|b| {
            let mid = (b.lower + b.upper) / 2.0;
            let gap = (b.upper - b.lower) * 0.06;
            let (x0, x1) = if right {
                (mid, b.upper - gap)
            } else {
                (b.lower + gap, mid)
            };
            Rectangle::new([(x0, 0.8), (x1, b.count as f64)], color.mix(0.85).filled())
        }))?;
    }
    Ok(())
}
