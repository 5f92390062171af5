//! Shared look of the report plots: sizes, colours, fonts and the side legend.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;

/// Size of every figure, in pixels (PNG) or user units (SVG).
pub(super) const FIGURE: (u32, u32) = (1000, 700);
/// Width of the legend panel right of the ROC and PR charts.
pub(super) const LEGEND_WIDTH: u32 = 320;

pub(super) const TITLE_SIZE: u32 = 24;
pub(super) const AXIS_DESC_SIZE: u32 = 18;
pub(super) const TICK_SIZE: u32 = 14;

pub(super) const GREY: RGBColor = RGBColor(120, 120, 120);
pub(super) const LIGHT_GREY: RGBColor = RGBColor(225, 225, 225);

/// matplotlib's "tab10": distinct on white and for common colour-vision deficiencies.
const TAB10: [RGBColor; 10] = [
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

/// How label `index` is drawn: a tab10 colour, dashed for the second ten, and so on.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineLook {
    pub color: RGBColor,
    pub dashed: bool,
}

pub(super) fn line_look(index: usize) -> LineLook {
    LineLook {
        color: TAB10[index % TAB10.len()],
        dashed: (index / TAB10.len()) % 2 == 1,
    }
}

/// One row of the side legend: a line sample (if any) and a text.
pub(super) struct LegendRow {
    pub look: Option<LineLook>,
    pub text: String,
}

/// Draws a legend panel: a heading, one row per entry (shrinking rows to fit, then eliding
/// the rest with a count) and footer lines at the bottom.
pub(super) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    rows: &[LegendRow],
    footer: &[String],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let left = Pos::new(HPos::Left, VPos::Center);
    let top = 60;
    area.draw(&Text::new(
        heading.to_string(),
        (12, top - 24),
        TextStyle::from((FAMILY, 18).into_font()).pos(left),
    ))?;
    let footer_height = 20 * footer.len() as i32 + 16;
    let available = (h - top - footer_height).max(20);
    let row_h = (available / rows.len().max(1) as i32).clamp(13, 24);
    let capacity = (available / row_h).max(1) as usize;
    let (shown, hidden) = if rows.len() > capacity {
        (capacity - 1, rows.len() - (capacity - 1))
    } else {
        (rows.len(), 0)
    };
    let font_size = (row_h - 6).clamp(10, 16);
    let text_style = TextStyle::from((FAMILY, font_size).into_font()).pos(left);
    let muted_style = text_style.clone().color(&GREY);
    for (k, row) in rows.iter().take(shown).enumerate() {
        let y = top + k as i32 * row_h + row_h / 2;
        let text_x = match row.look {
            Some(look) => {
                let style = look.color.stroke_width(3);
                let pts = vec![(12, y), (44, y)];
                if look.dashed {
                    area.draw(&DashedPathElement::new(pts, 6, 4, style))?;
                } else {
                    area.draw(&PathElement::new(pts, style))?;
                }
                52
            }
            None => 12,
        };
        let style = if row.look.is_some() {
            &text_style
        } else {
            &muted_style
        };
        let text = fit_text(area, &row.text, style, (w - text_x - 8).max(10) as u32);
        area.draw(&Text::new(text, (text_x, y), style.clone()))?;
    }
    if hidden > 0 {
        let y = top + shown as i32 * row_h + row_h / 2;
        area.draw(&Text::new(
            format!("... and {hidden} more labels (see metrics.json)"),
            (12, y),
            muted_style.clone(),
        ))?;
    }
    let footer_style = TextStyle::from((FAMILY, 14).into_font()).pos(left);
    for (k, line) in footer.iter().enumerate() {
        let y = h - footer_height + 8 + k as i32 * 20 + 10;
        let text = fit_text(area, line, &footer_style, (w - 20) as u32);
        area.draw(&Text::new(text, (12, y), footer_style.clone()))?;
    }
    Ok(())
}

/// Shortens `text` with an ellipsis until it fits in `max_width` pixels.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'_>,
    max_width: u32,
) -> String {
    let fits = |s: &str| {
        area.estimate_text_size(s, style)
            .map(|(tw, _)| tw <= max_width)
            .unwrap_or(true)
    };
    if fits(text) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().chain(std::iter::once(&'…')).collect();
        if fits(&candidate) {
            return candidate;
        }
    }
    "…".to_string()
}

/// `0.953` style value for legends; "n/a" where undefined.
pub(super) fn fmt_value(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}
