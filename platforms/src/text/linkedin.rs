//! LinkedIn: 3,000 characters of commentary (Posts API), and the escaping its "little text"
//! format needs (reference/linkedin.md: every reserved character must be backslash-escaped in
//! plain text, or the post is truncated or rejected).
//!
//! LinkedIn does not say how it counts; its services count UTF-16 code units, so do we. That is
//! conservative: an emoji counts 2 here and never lets a too-long post through.

use super::{CountUnit, TextReport, counted};
use crate::Platform;

/// Characters per post.
pub const LIMIT: usize = 3000;

/// Characters the little text format reserves (reference/linkedin.md, "Commentary").
const RESERVED: [char; 14] = [
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_',
];

pub(super) fn check(text: &str) -> TextReport {
    counted(
        Platform::LinkedIn,
        CountUnit::Characters,
        LIMIT,
        text.char_indices().map(|(i, c)| (i, c.len_utf16())),
    )
}

/// Escapes plain text for LinkedIn's little text format so it is published exactly as written.
pub fn escape_little_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if RESERVED.contains(&c) || c == '~' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units_up_to_3000() {
        assert_eq!(check("hello").count, 5);
        assert_eq!(check("😀").count, 2);
        assert!(check(&"a".repeat(3000)).is_ok());
        let report = check(&"a".repeat(3001));
        assert!(!report.is_ok());
        assert_eq!(report.overflow_at, Some(3000));
    }

    #[test]
    fn reserved_characters_are_escaped_and_plain_text_is_untouched() {
        assert_eq!(
            escape_little_text("Plain words, 100% fine."),
            "Plain words, 100% fine."
        );
        assert_eq!(
            escape_little_text("Ship (fast) #rust @you [x] {y} <z> a|b *c* _d_ ~e~ \\"),
            "Ship \\(fast\\) \\#rust \\@you \\[x\\] \\{y\\} \\<z\\> a\\|b \\*c\\* \\_d\\_ \\~e\\~ \\\\"
        );
    }
}
