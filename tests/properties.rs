//! Property tests: random Unicode (any scripts, controls, emoji, markup-like text) through
//! the segmenter, validation, the extractive summary and key facts. Nothing panics, every
//! range and offset is consistent, and what validation accepts the whole pipeline serves.

use newsgist::{
    facts,
    request::{Article, RawOptions, SummaryRequest},
    text::segment::{split_sentences, MAX_SENTENCE_BYTES},
};
use proptest::prelude::*;

/// Text mixing words, punctuation, line breaks, control characters and other scripts.
fn news_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[A-Za-z]{1,12}",
        2 => Just(" ".to_string()),
        1 => "[.!?;:,\"'()\\-]{1,3}",
        1 => Just("\n".to_string()),
        1 => "\\PC{1,6}",
        1 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,3}",
        1 => Just("<p>".to_string()),
        1 => "[0-9]{1,4}",
    ];
    proptest::collection::vec(piece, 0..200).prop_map(|pieces| pieces.concat())
}

fn limits_and_defaults() -> (newsgist::request::RequestLimits, newsgist::request::RequestDefaults) {
    use clap::Parser;
    let newsgist::config::Command::Serve(serve) = newsgist::config::Cli::parse_from(["newsgist", "serve"]).command
    else {
        unreachable!()
    };
    let config = serve.engine.validate().unwrap();
    (config.limits, config.defaults)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sentences_are_ordered_bounded_trimmed_and_cover_the_text(text in news_like()) {
        let ranges = split_sentences(&text);
        let mut previous_end = 0;
        for range in &ranges {
            prop_assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            prop_assert!(range.start >= previous_end && range.start < range.end);
            prop_assert!(range.len() <= MAX_SENTENCE_BYTES);
            let piece = &text[range.clone()];
            prop_assert_eq!(piece, piece.trim());
            previous_end = range.end;
        }
        let covered: usize = ranges.iter().map(|r| text[r.clone()].chars().filter(|c| !c.is_whitespace()).count()).sum();
        prop_assert_eq!(covered, text.chars().filter(|c| !c.is_whitespace()).count());
    }

    #[test]
    fn what_validation_accepts_gets_consistent_key_facts(title in news_like(), body in news_like()) {
        let (limits, defaults) = limits_and_defaults();
        let article = Article { title, body, language: "en".into(), ..Article::default() };
        // Refusals are fine (no text, markup, not English); panics are not.
        if let Ok(request) = SummaryRequest::validate("p".into(), article, RawOptions::default(), &defaults, &limits) {
            let article = &request.article;
            let anchor = chrono::NaiveDate::from_ymd_opt(2024, 6, 19).unwrap().and_hms_opt(0, 0, 0).unwrap();
            for fact in facts::extract(article, anchor, 5) {
                for slot in [&fact.who, &fact.what, &fact.when, &fact.where_, &Some(fact.evidence.clone())].into_iter().flatten() {
                    let source = match slot.location.field {
                        newsgist::response::Field::Title => &article.title,
                        newsgist::response::Field::Body => &article.body,
                    };
                    let (start, end) = (slot.location.start as usize, slot.location.end as usize);
                    let sliced: String = source.chars().skip(start).take(end - start).collect();
                    prop_assert_eq!(&sliced, &slot.text);
                    prop_assert!(!slot.text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r'));
                }
            }
        }
    }
}
