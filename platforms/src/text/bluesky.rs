//! Bluesky: 300 graphemes and 3,000 UTF-8 bytes per post
//! (lexicon `app.bsky.feed.post`, field `text`: `maxGraphemes: 300`, `maxLength: 3000`).

use unicode_segmentation::UnicodeSegmentation;

use super::{CountUnit, TextProblem, TextReport, counted};
use crate::Platform;

/// Graphemes per post.
pub const LIMIT: usize = 300;
/// UTF-8 bytes per post.
pub const MAX_BYTES: usize = 3000;

pub(super) fn check(text: &str) -> TextReport {
    let mut report = counted(
        Platform::Bluesky,
        CountUnit::Graphemes,
        LIMIT,
        text.grapheme_indices(true).map(|(i, _)| (i, 1)),
    );
    if text.len() > MAX_BYTES {
        report.problems.push(TextProblem::TooManyBytes {
            count: text.len(),
            limit: MAX_BYTES,
        });
        // The byte cap can bite first (e.g. long ZWJ emoji); point at the first grapheme past it.
        let byte_overflow = text
            .grapheme_indices(true)
            .find(|(i, g)| i + g.len() > MAX_BYTES)
            .map(|(i, _)| i);
        report.overflow_at = match (report.overflow_at, byte_overflow) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_people_see_as_characters() {
        assert_eq!(check("hello").count, 5);
        assert_eq!(check("👨‍👩‍👧‍👦").count, 1);
        assert_eq!(check("e\u{301}").count, 1);
        assert_eq!(check("我们").count, 2);
        assert_eq!(check("🇫🇷🇩🇪").count, 2);
    }

    #[test]
    fn three_hundred_graphemes_fit_and_one_more_does_not() {
        assert!(check(&"é".repeat(300)).is_ok());
        let report = check(&"é".repeat(301));
        assert_eq!(
            report.problems,
            vec![TextProblem::TooLong {
                count: 301,
                limit: 300
            }]
        );
        assert_eq!(report.overflow_at, Some(300 * "é".len()));
    }

    #[test]
    fn the_byte_cap_applies_even_under_300_graphemes() {
        // 200 family emoji: 200 graphemes, 25 bytes each = 5,000 bytes.
        let text = "👨‍👩‍👧‍👦".repeat(200);
        let report = check(&text);
        assert_eq!(report.count, 200);
        assert_eq!(
            report.problems,
            vec![TextProblem::TooManyBytes {
                count: 5000,
                limit: 3000
            }]
        );
        let at = report.overflow_at.expect("overflow");
        assert!(at <= MAX_BYTES && at + 25 > MAX_BYTES);
    }
}
