//! Per-network text rules, as pure functions shared by the composer (compiled to WASM) and the
//! server (validation before anything is stored or published).
//!
//! Every rule answers the same question — how long is this text in the network's own unit, what
//! is the limit, and where does the text overflow — so the interface can show one counter and
//! highlight the overflow the same way for every network.

mod bluesky;
mod instagram;
mod linkedin;
mod sandbox;
mod x;

pub use linkedin::escape_little_text;
pub use x::weighted_length as x_weighted_length;

use serde::{Deserialize, Serialize};

use crate::Platform;

/// What a network counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    /// twitter-text v3 weighted characters (X).
    WeightedCharacters,
    /// User-perceived characters (extended grapheme clusters).
    Graphemes,
    /// UTF-16 code units, the unit Java and JavaScript back ends count in.
    Characters,
}

/// Something about the text the network would reject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TextProblem {
    /// Nothing but whitespace.
    Empty,
    /// Longer than the limit, in the network's unit.
    TooLong {
        /// The count.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Over a secondary size cap (Bluesky: 3,000 UTF-8 bytes).
    TooManyBytes {
        /// Bytes used.
        count: usize,
        /// The cap.
        limit: usize,
    },
    /// Too many hashtags (Instagram: 30).
    TooManyHashtags {
        /// Hashtags found.
        count: usize,
        /// The cap.
        limit: usize,
    },
    /// Too many @-mentions (Instagram: 20).
    TooManyMentions {
        /// Mentions found.
        count: usize,
        /// The cap.
        limit: usize,
    },
}

impl TextProblem {
    /// A sentence for people, naming the network's rule.
    pub fn message(&self, platform: Platform) -> String {
        let name = platform.display_name();
        match self {
            TextProblem::Empty => "Write something first.".to_owned(),
            TextProblem::TooLong { count, limit } => {
                format!(
                    "{name} allows {limit} characters; this is {count}. Shorten it by {}.",
                    count - limit
                )
            }
            TextProblem::TooManyBytes { count, limit } => {
                format!("{name} allows {limit} bytes of text; this is {count}.")
            }
            TextProblem::TooManyHashtags { count, limit } => {
                format!("{name} allows {limit} hashtags; this has {count}.")
            }
            TextProblem::TooManyMentions { count, limit } => {
                format!("{name} allows {limit} @-mentions; this has {count}.")
            }
        }
    }
}

/// The result of checking one text for one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextReport {
    /// The network the text was checked for.
    pub platform: Platform,
    /// Length in `unit`.
    pub count: usize,
    /// The network's maximum, in `unit`.
    pub limit: usize,
    /// What `count` and `limit` measure.
    pub unit: CountUnit,
    /// Byte offset in the text where it first goes over the limit (`None` when it fits). The
    /// composer highlights from here to the end.
    pub overflow_at: Option<usize>,
    /// Everything the network would reject, most important first. Empty means publishable.
    pub problems: Vec<TextProblem>,
}

impl TextReport {
    /// Whether the network would accept the text.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Units left before the limit; negative when over.
    pub fn remaining(&self) -> i64 {
        self.limit as i64 - self.count as i64
    }
}

/// Counts `text` by `platform`'s rules.
pub fn check(platform: Platform, text: &str) -> TextReport {
    let mut report = match platform {
        Platform::X => x::check(text),
        Platform::Bluesky => bluesky::check(text),
        Platform::LinkedIn => linkedin::check(text),
        Platform::Instagram => instagram::check(text),
        Platform::Sandbox => sandbox::check(text),
    };
    if text.trim().is_empty() {
        report.problems.insert(0, TextProblem::Empty);
    }
    report
}

/// A report for a rule that counts units one by one: `units` yields (byte offset, size) for
/// each counted unit in order.
fn counted(
    platform: Platform,
    unit: CountUnit,
    limit: usize,
    units: impl Iterator<Item = (usize, usize)>,
) -> TextReport {
    let mut count = 0;
    let mut overflow_at = None;
    for (offset, size) in units {
        count += size;
        if count > limit && overflow_at.is_none() {
            overflow_at = Some(offset);
        }
    }
    let problems = if count > limit {
        vec![TextProblem::TooLong { count, limit }]
    } else {
        Vec::new()
    };
    TextReport {
        platform,
        count,
        limit,
        unit,
        overflow_at,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_text_is_reported_empty_everywhere() {
        for platform in Platform::ALL {
            let report = check(platform, "  \n\t ");
            assert_eq!(
                report.problems.first(),
                Some(&TextProblem::Empty),
                "{platform:?}"
            );
            assert!(!report.is_ok());
        }
    }

    #[test]
    fn messages_name_the_network_and_the_excess() {
        let message = TextProblem::TooLong {
            count: 290,
            limit: 280,
        }
        .message(Platform::X);
        assert_eq!(
            message,
            "X allows 280 characters; this is 290. Shorten it by 10."
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        // Any Unicode input: no panic, and the overflow offset is a char boundary of the input.
        #[test]
        fn never_panics_and_overflow_is_a_char_boundary(text in any::<String>()) {
            for platform in Platform::ALL {
                let report = check(platform, &text);
                if let Some(at) = report.overflow_at {
                    prop_assert!(text.is_char_boundary(at), "{platform:?} at {at}");
                    prop_assert!(report.count > report.limit);
                }
                prop_assert_eq!(report.count > report.limit, report.overflow_at.is_some());
            }
        }

        // Long random text, so limits are actually crossed. X has its own version of this
        // property (x::tests), as cutting there can turn a bare domain into a link.
        #[test]
        fn text_before_the_overflow_fits(text in "\\PC{200,700}") {
            for platform in Platform::ALL.into_iter().filter(|p| *p != Platform::X) {
                let report = check(platform, &text);
                if let Some(at) = report.overflow_at {
                    let head = check(platform, &text[..at]);
                    prop_assert!(head.count <= head.limit, "{platform:?}: head {} > {}", head.count, head.limit);
                }
            }
        }

        // Appending never makes a text shorter — except on X, where finishing a URL can
        // (see x::tests::completing_a_url_can_shorten_a_post).
        #[test]
        fn appending_never_shrinks_the_count(text in "\\PC{0,300}", extra in "\\PC{1,5}") {
            for platform in Platform::ALL.into_iter().filter(|p| *p != Platform::X) {
                let before = check(platform, &text).count;
                let after = check(platform, &format!("{text}{extra}")).count;
                prop_assert!(after >= before, "{platform:?}: {before} -> {after}");
            }
        }
    }
}
