//! Boilerplate detection for article text as users paste or scrape it.
//!
//! Real article bodies carry text that is not part of the story: site
//! navigation lines (`- News>`), share bars (`Share this with Email Facebook
//! … Copy this link`), promotion (`Scroll down for video`, `Subscribe to …`),
//! bylines and timestamps (`By . Daily Mail Reporter .`, `Last updated at …`)
//! and agency datelines (`(CNN)`). Summaries should neither pick these nor
//! count them as sentences.
//!
//! [`classify_sentences`] works on sentence ranges from
//! [`crate::text::segment::split_sentences`] and never copies the text: each
//! verdict carries a byte range into the caller's original body, narrowed past
//! any boilerplate prefix glued to a real sentence, so offsets stay valid.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// Why a sentence was judged not to be article content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoilerplateKind {
    /// Site navigation or breadcrumb lines (`- News>`, `Home | World`).
    Navigation,
    /// Share bars, video/newsletter/social promotion, "read more" links.
    Promotion,
    /// Author lines, publication and update timestamps.
    Byline,
}

/// The cleaning verdict for one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentenceVerdict {
    /// Byte range of the sentence's content in the original text: the
    /// sentence range, minus any leading boilerplate (share bar, dateline).
    pub content: Range<usize>,
    /// `Some` when the whole sentence is boilerplate.
    pub boilerplate: Option<BoilerplateKind>,
}

impl SentenceVerdict {
    /// Whether the sentence is article content.
    pub fn is_content(&self) -> bool {
        self.boilerplate.is_none()
    }
}

/// Boilerplate that scrapers glue to the front of a real sentence; the match
/// is cut off and the rest kept.
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:(?:",
        r"Share this with.{0,120}?Copy this link",
        r"|(?:Skip Ad\s+)?Ad Loading\.*(?:\s*x\s+Embed\s+x\s+Share)?",
        r"|Media caption\b",
        r"|(?:Image|Picture) copyright\s+[^.]{1,60}?\s+(?:Image|Picture) caption\b",
        r"|Media playback is (?:not supported|unsupported) on (?:this|your) device",
        r"|Scroll down for (?:the )?video",
        r"|(?:[A-Z][\w.,' -]{0,40})?\((?:CNN|AP|Reuters|AFP)\)\s*(?:--|—|-)?",
        r"|(?:Image|Picture) (?:copyright|caption)\s+[^.]{0,60}?(?:Images|PA|Reuters|AFP|BBC)\b",
        r")\s*)+",
    ))
    .expect("valid prefix regex")
});

/// Whole sentences of promotion.
static PROMOTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^(?:",
        r"scroll down for (?:the )?video|click here\b|read more\b|see more\b|follow (?:us|@)",
        r"|follow \w+(?: \w+)? on (?:twitter|facebook|instagram)|subscribe to\b|sign up\b",
        r"|share this\b|copy this link|media playback is|(?:watch|video): ",
        r"|advertisement$|related (?:articles|topics|stories)|comments? \(\d+\)",
        r"|(?:e-?mail|print|share) (?:this|to a friend)",
        r")",
    ))
    .expect("valid promotion regex")
});

/// Author lines (`By Jane Smith`, the Daily Mail's `By . Sam Webb .`) and
/// timestamps.
static BYLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:By\s*\.?\s*(?:[A-Z][\w'’.-]*\s*){0,4}\.?$",
        r"|(?:[A-Z][\w'’.-]*\s+){1,5}\.$",
        r"|(?i:(?:published|updated|last updated|posted)(?: at| on)?\s*[:.]",
        r"|(?:last )?updated (?:at|on) \d",
        r"|\|\s*\.?\s*updated:",
        r"|\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?|gmt|bst|est|edt|utc)\b.{0,40}\d{4}[\s.|]*$)",
        r")",
    ))
    .expect("valid byline regex")
});

/// Classifies each sentence of `text` (ranges from the segmenter, in order).
///
/// Returns one verdict per input range. Ranges that are out of bounds or not
/// on char boundaries are passed through as content, unchanged, rather than
/// panicking.
pub fn classify_sentences(text: &str, sentences: &[Range<usize>]) -> Vec<SentenceVerdict> {
    sentences
        .iter()
        .map(|range| match text.get(range.clone()) {
            Some(sentence) => classify(range.start, sentence),
            None => SentenceVerdict {
                content: range.clone(),
                boilerplate: None,
            },
        })
        .collect()
}

fn classify(start: usize, sentence: &str) -> SentenceVerdict {
    let verdict = |content: Range<usize>, kind| SentenceVerdict {
        content,
        boilerplate: kind,
    };
    let whole = start..start + sentence.len();
    let cut = PREFIX.find(sentence).map_or(0, |m| m.end());
    let rest = &sentence[cut..];
    if !has_words(rest) {
        return verdict(whole, Some(BoilerplateKind::Promotion));
    }
    if PROMOTION.is_match(rest) {
        return verdict(whole, Some(BoilerplateKind::Promotion));
    }
    if BYLINE.is_match(rest) {
        return verdict(whole, Some(BoilerplateKind::Byline));
    }
    if is_navigation(rest) {
        return verdict(whole, Some(BoilerplateKind::Navigation));
    }
    verdict(start + cut..whole.end, None)
}

fn has_words(s: &str) -> bool {
    s.split_whitespace()
        .any(|w| w.chars().filter(|c| c.is_alphanumeric()).count() >= 2)
}

/// Navigation: a short line without sentence punctuation that is a bullet or
/// a breadcrumb (`- World`, `News>`, `Home | Sport | Football`).
fn is_navigation(s: &str) -> bool {
    if s.ends_with(['.', '!', '?', '"', '”', '’']) {
        return false;
    }
    let words = s.split_whitespace().take(7).count();
    if words > 6 {
        return false;
    }
    let separators = s.matches(['>', '|', '»', '›']).count();
    let bullet = s.starts_with(['-', '•', '*', '–', '·']);
    separators > 0 || (bullet && words <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::segment::split_sentences;

    fn kinds(text: &str) -> Vec<(&str, Option<BoilerplateKind>)> {
        let ranges = split_sentences(text);
        classify_sentences(text, &ranges)
            .into_iter()
            .map(|v| (&text[v.content], v.boilerplate))
            .collect()
    }

    #[test]
    fn navigation_lines_are_boilerplate() {
        let text = "- News>\n- World\nKim lands in Beijing\nHe arrived on Tuesday.";
        let got = kinds(text);
        assert_eq!(got[0].1, Some(BoilerplateKind::Navigation));
        assert_eq!(got[1].1, Some(BoilerplateKind::Navigation));
        assert_eq!(got[2], ("Kim lands in Beijing", None));
        assert_eq!(got[3], ("He arrived on Tuesday.", None));
    }

    #[test]
    fn share_bar_prefix_is_cut_but_sentence_kept() {
        let text = "Share this withEmailFacebookTwitterCopy this linkCuadrilla said drilling stopped.";
        assert_eq!(kinds(text), vec![("Cuadrilla said drilling stopped.", None)]);
    }

    #[test]
    fn video_player_and_picture_credits_glued_to_a_sentence_are_cut() {
        let text = "Skip Ad Ad Loading... x Embed x Share President Obama met Donald Trump. \
                    Image copyright The Paper Image caption Rescuers dug through the night.";
        assert_eq!(
            kinds(text),
            vec![
                ("President Obama met Donald Trump.", None),
                ("Rescuers dug through the night.", None)
            ]
        );
    }

    #[test]
    fn datelines_and_video_prompts_are_cut() {
        let text = "Boston (CNN)Guilty across the board. Scroll down for video The jury agreed.";
        assert_eq!(
            kinds(text),
            vec![("Guilty across the board.", None), ("The jury agreed.", None)]
        );
    }

    #[test]
    fn promotion_and_bylines_are_boilerplate() {
        let text = "By . Daily Mail Reporter . PUBLISHED: . 10:01 EST, 3 May 2014 . \n\
                    Last updated at 10:30 GMT\nSubscribe to the BBC Sport newsletter.\n\
                    Follow @BBCNewsbeat on Twitter\nThe minister resigned.";
        let got = kinds(text);
        let last = got.len() - 1;
        assert_eq!(got[last], ("The minister resigned.", None));
        assert!(got[..last].iter().all(|(_, k)| k.is_some()), "{got:?}");
    }

    #[test]
    fn daily_mail_byline_block_is_boilerplate() {
        let text = "By . Sam Webb . PUBLISHED: . 10:01 EST, 3 May 2014 . | . UPDATED: . 12:01 EST, 3 May 2014 . \
                    A man has been jailed for life.";
        let got = kinds(text);
        let last = got.len() - 1;
        assert_eq!(got[last], ("A man has been jailed for life.", None));
        assert!(got[..last].iter().all(|(_, k)| k.is_some()), "{got:?}");
    }

    #[test]
    fn ordinary_sentences_are_content() {
        let text = "By Friday the talks had failed. Published figures show a rise. \
                    Watch makers gained 3%. He said: \"Read the report.\"";
        assert!(kinds(text).iter().all(|(_, k)| k.is_none()), "{:?}", kinds(text));
    }

    #[test]
    fn invalid_ranges_do_not_panic() {
        let text = "héllo";
        #[allow(clippy::reversed_empty_ranges)]
        let got = classify_sentences(text, &[0..2, 4..99, 3..1]);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(SentenceVerdict::is_content));
    }
}
