//! The font used for text in PNG plots, embedded so that rendering works on machines without
//! system fonts (plotters' `ab_glyph` backend never looks at the system).

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::ReportError;

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The family name plots ask for. Registering the embedded font under the generic name keeps
/// SVG files readable too: their `font-family="sans-serif"` falls back to any viewer's sans font.
pub(super) const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process.
pub(super) fn ensure_registered() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
            && register_font(FAMILY, FontStyle::Bold, DEJAVU_SANS).is_ok()
    });
    if ok { Ok(()) } else { Err(ReportError::Font) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_font_registers() {
        assert!(
            super::DEJAVU_SANS.starts_with(&[0, 1, 0, 0]),
            "TrueType header"
        );
        super::ensure_registered().unwrap();
    }
}
