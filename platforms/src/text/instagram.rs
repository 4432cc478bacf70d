//! Instagram captions: 2,200 characters, 30 hashtags, 20 @-mentions. These are the limits
//! commonly cited (reference/instagram.md marks them unverified against the Graph API; the API's
//! own error is kept for the user if it disagrees).

use super::{CountUnit, TextProblem, TextReport, counted};
use crate::Platform;

/// Characters per caption (UTF-16 code units, as Meta's services count).
pub const LIMIT: usize = 2200;
/// Hashtags per caption.
pub const MAX_HASHTAGS: usize = 30;
/// @-mentions per caption.
pub const MAX_MENTIONS: usize = 20;

pub(super) fn check(text: &str) -> TextReport {
    let mut report = counted(
        Platform::Instagram,
        CountUnit::Characters,
        LIMIT,
        text.char_indices().map(|(i, c)| (i, c.len_utf16())),
    );
    let hashtags = count_tagged(text, '#', |c| c.is_alphanumeric() || c == '_');
    if hashtags > MAX_HASHTAGS {
        report.problems.push(TextProblem::TooManyHashtags {
            count: hashtags,
            limit: MAX_HASHTAGS,
        });
    }
    let mentions = count_tagged(text, '@', |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    });
    if mentions > MAX_MENTIONS {
        report.problems.push(TextProblem::TooManyMentions {
            count: mentions,
            limit: MAX_MENTIONS,
        });
    }
    report
}

/// Counts `sigil` + at least one `body` character, where the sigil does not follow a word
/// character (so `a#b` and e-mail addresses do not count).
fn count_tagged(text: &str, sigil: char, body: impl Fn(char) -> bool) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == sigil
            && !prev.is_some_and(|p| p.is_alphanumeric() || p == '_')
            && chars.peek().is_some_and(|&n| body(n))
        {
            count += 1;
        }
        prev = Some(c);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caption_length_limit() {
        assert!(check(&"a".repeat(2200)).is_ok());
        assert_eq!(check(&"a".repeat(2201)).overflow_at, Some(2200));
    }

    #[test]
    fn thirty_hashtags_fit_and_thirty_one_do_not() {
        let tags = |n: usize| {
            (0..n)
                .map(|i| format!("#tag{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(check(&tags(30)).is_ok());
        assert_eq!(
            check(&tags(31)).problems,
            vec![TextProblem::TooManyHashtags {
                count: 31,
                limit: 30
            }]
        );
        // Not hashtags: a lone #, a # inside a word, a heading-like "# ".
        assert!(check(&format!("{} # a#b c#", tags(30))).is_ok());
    }

    #[test]
    fn mentions_are_capped_at_twenty_and_emails_do_not_count() {
        let mentions = (0..21)
            .map(|i| format!("@user.{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            check(&mentions).problems,
            vec![TextProblem::TooManyMentions {
                count: 21,
                limit: 20
            }]
        );
        let emails = (0..25)
            .map(|i| format!("me{i}@example.com"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(check(&emails).is_ok());
    }
}
