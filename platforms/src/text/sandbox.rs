//! The Sandbox network's own rule: 500 graphemes. Generous on purpose — it is for trying the
//! whole loop, not for rehearsing another network's limits.

use unicode_segmentation::UnicodeSegmentation;

use super::{CountUnit, TextReport, counted};
use crate::Platform;

/// Graphemes per Sandbox post.
pub const LIMIT: usize = 500;

pub(super) fn check(text: &str) -> TextReport {
    counted(
        Platform::Sandbox,
        CountUnit::Graphemes,
        LIMIT,
        text.grapheme_indices(true).map(|(i, _)| (i, 1)),
    )
}
