//! X's weighted length, following the twitter-text v3 configuration
//! (github.com/twitter/twitter-text, `config/v3.json`):
//!
//! ```text
//! maxWeightedTweetLength 280, scale 100, defaultWeight 200, transformedURLLength 23,
//! emojiParsingEnabled true,
//! ranges (weight 100): U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037
//! ```
//!
//! Text is NFC-normalised first; each URL counts 23; each emoji sequence counts 2 whatever its
//! code points; every other code point counts 1 inside the light ranges and 2 outside them (so
//! most CJK counts 2). The published `twitter-text` crate needs a C++ bridge (`cxx`) and does not
//! build for the browser, so this is an implementation of the v3 rules, not a port of the library.
//!
//! Covered twitter-text behaviours: NFC normalisation, the four light ranges, default weight 2,
//! emoji sequences (ZWJ families, skin tones, flags, keycaps, VS16 presentation) as 2, URLs with
//! `http(s)://` and bare domains under common generic TLDs or `www.`, trailing punctuation left
//! out of URLs, e-mail addresses and `@user.name` not taken for URLs. Not covered: the full IANA
//! TLD list for bare domains (ccTLD-only bare domains count as plain text unless a path follows),
//! punycode/IDN host validation, and t.co's special handling of `$cashtags`.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use super::{CountUnit, TextReport, counted};
use crate::Platform;

/// Maximum weighted length of a post.
pub const LIMIT: usize = 280;
/// Every URL counts as this many characters (t.co wrapping).
pub const URL_LENGTH: usize = 23;

/// Code point ranges that weigh 1; everything else weighs 2 (v3 config, `ranges`).
const LIGHT_RANGES: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// Generic TLDs recognised on bare domains (`example.com`). twitter-text knows every IANA TLD;
/// this list covers the ones people plug products with.
const BARE_TLDS: [&str; 40] = [
    "com", "org", "net", "io", "dev", "app", "ai", "co", "me", "xyz", "info", "biz", "blog",
    "shop", "store", "site", "online", "tech", "page", "link", "live", "news", "studio", "design",
    "email", "gg", "tv", "fm", "ly", "so", "sh", "to", "edu", "gov", "social", "club", "art",
    "pro", "one", "world",
];

pub(super) fn check(text: &str) -> TextReport {
    counted(
        Platform::X,
        CountUnit::WeightedCharacters,
        LIMIT,
        weighted_units(text),
    )
}

/// The weighted length of `text` as X counts it.
pub fn weighted_length(text: &str) -> usize {
    weighted_units(text).map(|(_, w)| w).sum()
}

/// (byte offset, weight in characters) for each counted unit: a URL, or a grapheme cluster.
/// Weights are summed in hundredths as twitter-text does, then rounded down per unit, which is
/// exact because every weight is a whole multiple of 100.
fn weighted_units(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let urls = find_urls(text);
    let mut next_url = 0;
    text.grapheme_indices(true)
        .filter_map(move |(offset, grapheme)| {
            while next_url < urls.len() && urls[next_url].1 <= offset {
                next_url += 1;
            }
            if let Some(&(start, _)) = urls.get(next_url)
                && offset >= start
            {
                // Inside a URL: the whole URL counts once, at its first grapheme.
                return (offset == start).then_some((offset, URL_LENGTH));
            }
            Some((offset, grapheme_weight(grapheme)))
        })
}

fn grapheme_weight(grapheme: &str) -> usize {
    if is_emoji_sequence(grapheme) {
        return 2;
    }
    grapheme.nfc().map(char_weight).sum()
}

fn char_weight(c: char) -> usize {
    let cp = c as u32;
    if LIGHT_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp)) {
        1
    } else {
        2
    }
}

/// Whether a grapheme cluster is one emoji made of several code points (ZWJ sequences, skin
/// tones, flags, keycaps, VS16). Single-code-point emoji already weigh 2 by range.
fn is_emoji_sequence(grapheme: &str) -> bool {
    let mut chars = grapheme.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if chars.next().is_none() {
        return false;
    }
    let joined = grapheme.chars().any(
        |c| matches!(c as u32, 0x200D | 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F),
    );
    let flag =
        is_regional_indicator(first) && grapheme.chars().nth(1).is_some_and(is_regional_indicator);
    flag || (joined && (is_pictographic(first) || matches!(first, '0'..='9' | '#' | '*')))
}

fn is_regional_indicator(c: char) -> bool {
    (0x1F1E6..=0x1F1FF).contains(&(c as u32))
}

/// An approximation of Unicode's Extended_Pictographic property, enough to tell emoji bases.
fn is_pictographic(c: char) -> bool {
    matches!(c as u32,
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x21AA | 0x231A..=0x23FF
        | 0x24C2 | 0x25AA..=0x25FE | 0x2600..=0x27BF | 0x2934 | 0x2935 | 0x2B05..=0x2B55 | 0x3030
        | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF)
}

/// Byte ranges of the URLs in `text`, in order.
fn find_urls(text: &str) -> Vec<(usize, usize)> {
    let mut urls = Vec::new();
    let mut i = 0;
    while i < text.len() {
        // A URL starts after whitespace, an opening bracket or quote, or at the beginning; not
        // after `@` (user names), a letter or digit, or a dot.
        let starts_token = i == 0
            || text[..i].chars().next_back().is_some_and(|p| {
                !(p.is_alphanumeric() || matches!(p, '@' | '.' | '_' | '/' | '-' | '#' | '$'))
            });
        if starts_token && let Some(end) = url_at(text, i) {
            urls.push((i, end));
            i = end;
            continue;
        }
        // Advance one character.
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    urls
}

/// If a URL starts at byte `start`, returns where it ends.
fn url_at(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let lower_prefix: String = rest.chars().take(8).flat_map(char::to_lowercase).collect();
    let (scheme_len, has_scheme) = if lower_prefix.starts_with("https://") {
        (8, true)
    } else if lower_prefix.starts_with("http://") {
        (7, true)
    } else {
        (0, false)
    };
    let after_scheme = &rest[scheme_len..];
    // Host: letters, digits, hyphens and dots (Unicode letters allowed for IDNs).
    let host_len: usize = after_scheme
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '-' || c == '.'))
        .map_or(after_scheme.len(), |(i, _)| i);
    let mut host = after_scheme[..host_len].trim_end_matches('.');
    // The TLD is ASCII letters, and twitter-text only takes it when what follows is not an ASCII
    // letter or digit, `@`, `+` or `-` (the lookahead after `validGTLD`/`validCCTLD` in
    // twitter-text's regexes): `x.ioꬨ` links `x.io`, while `x.ioa` and `x.io-b` link nothing.
    let last_label = host.rfind('.').map_or(0, |dot| dot + 1);
    let tld_end = host[last_label..]
        .find(|c: char| !c.is_ascii_alphabetic())
        .map_or(host.len(), |i| last_label + i);
    if host[tld_end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    host = &host[..tld_end];
    if rest[scheme_len + host.len()..].starts_with('+') {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return None;
    }
    let tld = labels.last()?.to_ascii_lowercase();
    if tld.len() < 2 {
        return None;
    }
    let mut end = scheme_len + host.len();
    // Port and path: everything up to whitespace.
    let tail = &rest[end..];
    let has_path = tail.starts_with('/') || tail.starts_with(':') || tail.starts_with('?');
    if has_path {
        end += tail
            .char_indices()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(tail.len(), |(i, _)| i);
    }
    if !has_scheme {
        let www = labels[0].eq_ignore_ascii_case("www");
        let generic = BARE_TLDS.contains(&tld.as_str());
        let country_with_path = tld.len() == 2 && has_path;
        if !(www || generic || country_with_path) {
            return None;
        }
        // `name@example.com` is an e-mail address, not a URL.
        if rest[end..].starts_with('@') {
            return None;
        }
    }
    // Trailing punctuation belongs to the sentence, not the URL; a closing bracket stays only
    // when the URL opened one (e.g. Wikipedia links).
    let mut url = &rest[..end];
    while let Some(last) = url.chars().next_back() {
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '…' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            ']' => url.matches('[').count() < url.matches(']').count(),
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    (url.len() > scheme_len).then_some(start + url.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(text: &str) -> usize {
        weighted_length(text)
    }

    #[test]
    fn latin_counts_one_per_character_and_the_limit_is_280() {
        assert_eq!(len("hello"), 5);
        let at_limit = "a".repeat(280);
        assert!(check(&at_limit).is_ok());
        let over = "a".repeat(281);
        let report = check(&over);
        assert_eq!(report.count, 281);
        assert_eq!(report.overflow_at, Some(280));
        assert!(!report.is_ok());
    }

    #[test]
    fn cjk_and_emoji_count_two() {
        assert_eq!(len("我"), 2);
        assert_eq!(len("こんにちは"), 10);
        assert_eq!(len("한국어"), 6);
        assert!(check(&"我".repeat(140)).is_ok());
        assert_eq!(check(&"我".repeat(141)).count, 282);
        assert_eq!(len("😀"), 2);
        assert!(check(&"😀".repeat(140)).is_ok());
        assert!(!check(&"😀".repeat(141)).is_ok());
    }

    #[test]
    fn emoji_sequences_count_two_whatever_their_code_points() {
        assert_eq!(len("👨‍👩‍👧‍👦"), 2, "ZWJ family of 7 code points");
        assert_eq!(len("👍🏽"), 2, "skin tone");
        assert_eq!(len("🇫🇷"), 2, "flag");
        assert_eq!(len("1️⃣"), 2, "keycap");
        assert_eq!(len("❤️"), 2, "VS16 presentation");
        assert_eq!(
            len("🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"),
            2,
            "tag sequence (England)"
        );
    }

    #[test]
    fn light_ranges_weigh_one() {
        // Latin-1, Latin Extended, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, Georgian.
        assert_eq!(len("ñéüßΩЖשعहไა"), 11);
        assert_eq!(
            len("\u{2002}\u{200D}"),
            2,
            "spaces and ZWJ in U+2000–U+200D"
        );
        assert_eq!(len("“quoted” — ‘x’"), 14, "punctuation in U+2010–U+201F");
        assert_eq!(len("′″"), 2, "primes in U+2032–U+2037");
        assert_eq!(len("€"), 2, "U+20AC is outside the light ranges");
        assert_eq!(len("→"), 2);
    }

    #[test]
    fn text_is_normalised_before_counting() {
        let decomposed = "e\u{301}"; // e + combining acute
        assert_eq!(len(decomposed), 1);
        assert_eq!(len("é"), 1);
        // Hangul jamo compose into one syllable (weight 2), not three.
        assert_eq!(len("\u{1100}\u{1161}\u{11A8}"), 2);
    }

    #[test]
    fn urls_count_twenty_three() {
        assert_eq!(len("https://example.com"), 23);
        assert_eq!(len("http://a.co"), 23);
        assert_eq!(len(&format!("https://example.com/{}", "x".repeat(200))), 23);
        assert_eq!(len("Try it: https://omniplug.dev/pricing?plan=pro"), 8 + 23);
        assert_eq!(len("example.com"), 23, "bare generic domain");
        assert_eq!(len("www.example.de"), 23, "www. prefix");
        assert_eq!(len("example.de/path"), 23, "ccTLD with a path");
        assert_eq!(len("a.b"), 3, "not a domain");
        assert_eq!(len("example.de"), 10, "bare ccTLD without path is text");
        assert_eq!(len("two https://a.com https://b.com"), 4 + 23 + 1 + 23);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_url() {
        assert_eq!(len("see https://example.com."), 4 + 23 + 1);
        assert_eq!(len("(https://example.com)"), 1 + 23 + 1);
        assert_eq!(
            len("https://en.wikipedia.org/wiki/Rust_(programming_language)"),
            23
        );
        assert_eq!(len("https://example.com?!"), 23 + 2);
    }

    #[test]
    fn completing_a_url_can_shorten_a_post() {
        let word = "a".repeat(30);
        assert_eq!(len(&word), 30);
        assert_eq!(len(&format!("{word}.com")), 23, "now a bare-domain URL");
    }

    #[test]
    fn emails_and_handles_are_not_urls() {
        assert_eq!(len("me@example.com"), 14);
        assert_eq!(len("@example.com"), 12);
        assert_eq!(len("x.com's"), 23 + 2, "the apostrophe ends the domain");
    }

    #[test]
    fn a_domain_ends_where_its_tld_does_unless_ascii_follows() {
        assert_eq!(
            len("x.ioꬨ"),
            23 + 2,
            "a non-ASCII letter after the TLD ends the link"
        );
        assert_eq!(len("x.ioa"), 5, "an ASCII letter makes it an unknown TLD");
        assert_eq!(len("x.io-b"), 6);
        assert_eq!(len("x.io+"), 5);
        assert_eq!(len("x.io!"), 23 + 1);
    }

    #[test]
    fn cutting_at_the_overflow_can_make_a_link() {
        // twitter-text links `x.io` but not `x.ioa`, so deleting the one highlighted
        // character makes this post longer, as it would on X.
        let text = format!("{} x.ioa", "a".repeat(275)); // 275 + 1 + 5
        let report = check(&text);
        assert_eq!(report.count, 281);
        assert_eq!(report.overflow_at, Some(text.len() - 1));
        assert_eq!(len(&text[..text.len() - 1]), 275 + 1 + 23);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        // Every unit before the overflow is counted the same in the text cut there, so the cut
        // text fits — except that its last few characters may now form a link (see above).
        #[test]
        fn text_before_the_overflow_fits_unless_the_cut_makes_a_link(text in "\\PC{200,700}") {
            let Some(at) = check(&text).overflow_at else {
                return Ok(());
            };
            let full: Vec<_> = weighted_units(&text).take_while(|&(offset, _)| offset < at).collect();
            let head: Vec<_> = weighted_units(&text[..at]).collect();
            if head == full {
                proptest::prop_assert!(len(&text[..at]) <= LIMIT);
            } else {
                let last = head.len() - 1;
                proptest::prop_assert_eq!(&head[..last], &full[..last]);
                let (offset, weight) = head[last];
                proptest::prop_assert_eq!(weight, URL_LENGTH);
                proptest::prop_assert!(full[last].0 == offset && text[offset..at].contains('.'));
            }
        }
    }

    #[test]
    fn overflow_points_at_the_first_unit_over_the_limit() {
        let text = format!("{}我", "a".repeat(279)); // 279 + 2 = 281
        let report = check(&text);
        assert_eq!(report.count, 281);
        assert_eq!(report.overflow_at, Some(279));
        let text = format!("{} https://example.com", "a".repeat(260)); // 260 + 1 + 23
        let report = check(&text);
        assert_eq!(report.overflow_at, Some(261), "the URL is what overflows");
    }
}
