//! ROC and precision-recall figures: one curve per label on a unit square, legend at the side.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::curves::CurveSet;
use super::font::FAMILY;
use super::style::{
    AXIS_DESC_SIZE, FIGURE, GREY, LEGEND_WIDTH, LIGHT_GREY, LegendRow, TICK_SIZE, TITLE_SIZE,
    draw_legend, fmt_value, line_look,
};

/// What a curve figure shows.
pub(super) struct CurveFigure<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Legend heading, e.g. "Label: ROC-AUC".
    pub legend_heading: &'a str,
    pub set: &'a CurveSet,
    /// Lines under the legend (averages, notes).
    pub footer: Vec<String>,
    /// Draw the `y = x` line of a random ranking (ROC only).
    pub chance_diagonal: bool,
}

/// Draws the figure on any plotters backend.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &CurveFigure<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(FIGURE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(fig.title, (FAMILY, TITLE_SIZE))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.01f64..1.01f64, -0.01f64..1.01f64)?;
    chart
        .configure_mesh()
        .x_desc(fig.x_desc)
        .y_desc(fig.y_desc)
        .axis_desc_style((FAMILY, AXIS_DESC_SIZE))
        .label_style((FAMILY, TICK_SIZE))
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .bold_line_style(LIGHT_GREY)
        .light_line_style(WHITE)
        .draw()?;
    if fig.chance_diagonal {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            6,
            GREY.stroke_width(1),
        ))?;
    }
    for curve in &fig.set.curves {
        let look = line_look(curve.index);
        let style = look.color.stroke_width(2);
        if look.dashed {
            chart.draw_series(DashedLineSeries::new(
                curve.points.iter().copied(),
                8,
                5,
                style,
            ))?;
        } else {
            chart.draw_series(LineSeries::new(curve.points.iter().copied(), style))?;
        }
    }
    let mut rows: Vec<LegendRow> = fig
        .set
        .curves
        .iter()
        .map(|c| LegendRow {
            look: Some(line_look(c.index)),
            text: format!("{}: {}", c.name, fmt_value(c.value)),
        })
        .collect();
    rows.extend(fig.set.skipped.iter().map(|s| LegendRow {
        look: None,
        text: format!("{}: not plotted ({})", s.name, s.reason),
    }));
    draw_legend(&legend_area, fig.legend_heading, &rows, &fig.footer)
}
