//! Shallow tense detection: the verb cue nearest to an expression within its sentence.

use std::{ops::Range, sync::LazyLock};

use regex::Regex;

use super::calendar::Tense;

static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z]+(?:['\u{2019}][A-Za-z]+)?").expect("valid regex"));

const FUTURE: &[&str] = &[
    "will",
    "shall",
    "won't",
    "gonna",
    "upcoming",
    "scheduled",
    "slated",
    "forthcoming",
    "tomorrow",
];

/// Words that point to the future only before "to" ("is expected to", "plans to").
const FUTURE_BEFORE_TO: &[&str] = &[
    "expected", "expects", "plans", "planned", "planning", "intends", "due", "set", "going", "hopes",
];

const PRESENT: &[&str] = &["is", "are", "am", "does", "do", "currently", "now", "today"];

const IRREGULAR_PAST: &[&str] = &[
    "was",
    "were",
    "had",
    "did",
    "went",
    "came",
    "met",
    "took",
    "made",
    "gave",
    "left",
    "held",
    "began",
    "saw",
    "got",
    "found",
    "thought",
    "knew",
    "sent",
    "won",
    "lost",
    "fell",
    "rose",
    "spoke",
    "wrote",
    "became",
    "brought",
    "bought",
    "paid",
    "ran",
    "led",
    "felt",
    "kept",
    "struck",
    "stood",
    "fought",
    "flew",
    "drew",
    "chose",
    "broke",
    "sold",
    "meant",
    "heard",
    "built",
    "sought",
    "caught",
    "taught",
    "spent",
    "shot",
    "slept",
    "threw",
    "wore",
    "ate",
    "drove",
    "grew",
    "hung",
    "lay",
    "rode",
    "rang",
    "sang",
    "sank",
    "shook",
    "stole",
    "swore",
    "swam",
    "tore",
    "woke",
    "been",
    "ago",
    "yesterday",
    "last",
    "earlier",
    "recently",
];

/// Reporting verbs describe the report, not the event; they count only without other cues.
const REPORTING_PAST: &[&str] = &[
    "said",
    "told",
    "reported",
    "added",
    "announced",
    "stated",
    "according",
    "wrote",
    "noted",
];
const REPORTING_PRESENT: &[&str] = &["says", "say", "reports", "tells"];

/// "-ed" words that are not past-tense verbs.
const NOT_PAST_ED: &[&str] = &[
    "need",
    "indeed",
    "hundred",
    "speed",
    "seed",
    "feed",
    "proceed",
    "succeed",
    "exceed",
    "bed",
    "red",
    "shed",
    "breed",
    "greed",
    "weed",
    "bleed",
    "creed",
    "united",
    "based",
    "related",
    "armed",
    "so-called",
    "called",
    "red",
    "led",
    "wed",
    "ted",
    "fred",
    "ed",
    "reed",
];

#[derive(Clone, Copy, PartialEq)]
enum Cue {
    Strong(Tense),
    Weak(Tense),
}

fn classify(word: &str, next: Option<&str>) -> Option<Cue> {
    let w = word.to_ascii_lowercase().replace('\u{2019}', "'");
    if FUTURE.contains(&w.as_str())
        || w.ends_with("'ll")
        || (FUTURE_BEFORE_TO.contains(&w.as_str()) && next.is_some_and(|n| n.eq_ignore_ascii_case("to")))
    {
        return Some(Cue::Strong(Tense::Future));
    }
    if REPORTING_PAST.contains(&w.as_str()) {
        return Some(Cue::Weak(Tense::Past));
    }
    if REPORTING_PRESENT.contains(&w.as_str()) {
        return Some(Cue::Weak(Tense::Present));
    }
    if IRREGULAR_PAST.contains(&w.as_str()) || w.ends_with("n't") && w.starts_with("did") {
        return Some(Cue::Strong(Tense::Past));
    }
    if PRESENT.contains(&w.as_str()) || w.ends_with("'re") {
        return Some(Cue::Strong(Tense::Present));
    }
    let lower_initial = word.chars().next().is_some_and(|c| c.is_lowercase());
    if lower_initial && w.len() >= 5 && w.ends_with("ed") && !NOT_PAST_ED.contains(&w.as_str()) {
        return Some(Cue::Strong(Tense::Past));
    }
    None
}

/// A participle after an auxiliary takes the auxiliary's tense: "will be held" is future
/// (the "will" cue decides), "is held" present.
fn passive(cue: Option<Cue>, prev: Option<&str>) -> Option<Cue> {
    match (cue, prev) {
        (Some(Cue::Strong(Tense::Past)), Some("be" | "being")) => None,
        (Some(Cue::Strong(Tense::Past)), Some("is" | "are" | "am")) => Some(Cue::Strong(Tense::Present)),
        _ => cue,
    }
}

/// Words between an expression and a verb cue beyond which the cue likely belongs to another
/// clause.
const MAX_CUE_DISTANCE: usize = 20;

/// Extra distance charged to reporting verbs, which usually date the report, not the event.
const WEAK_PENALTY: usize = 2;

/// Tense of the clause around `range`, within `sentence` (the byte range of the sentence
/// holding it): the nearest verb cue within a few words, reporting verbs counting as farther
/// away than they are. Cues after the expression count one word farther.
pub(crate) fn tense_at(text: &str, sentence: &Range<usize>, range: &Range<usize>) -> Tense {
    let sent = sentence.clone();
    let words: Vec<(usize, &str)> = WORD
        .find_iter(&text[sent.clone()])
        .map(|m| (sent.start + m.start(), m.as_str()))
        .collect();
    let mut best: Option<(usize, Tense)> = None;
    let mut best_weak: Option<(usize, Tense)> = None;
    let pivot = words.iter().position(|(p, _)| *p >= range.start).unwrap_or(words.len());
    for (i, (p, w)) in words.iter().enumerate() {
        if *p >= range.start && *p < range.end {
            continue; // the expression's own words ("next", "last") are handled by its rule
        }
        let next = words.get(i + 1).map(|(_, n)| *n);
        let prev = i.checked_sub(1).map(|j| words[j].1.to_ascii_lowercase());
        let dist = if i < pivot { pivot - i } else { i - pivot + 1 };
        if dist > MAX_CUE_DISTANCE {
            continue;
        }
        let slot = match passive(classify(w, next), prev.as_deref()) {
            Some(Cue::Strong(t)) => (&mut best, t),
            // A trailing "..., officials said" dates the report, not the event.
            Some(Cue::Weak(t)) if i < pivot => (&mut best_weak, t),
            Some(Cue::Weak(_)) => continue,
            None => continue,
        };
        if slot.0.is_none_or(|(d, _)| dist < d) {
            *slot.0 = Some((dist, slot.1));
        }
    }
    match (best, best_weak) {
        (Some((d, t)), Some((dw, tw))) => Some(if dw + WEAK_PENALTY < d { tw } else { t }),
        (Some((_, t)), None) | (None, Some((_, t))) => Some(t),
        (None, None) => None,
    }
    .unwrap_or(Tense::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str, needle: &str) -> Tense {
        let s = text.find(needle).unwrap();
        let range = s..s + needle.len();
        let sentences = crate::text::segment::split_sentences(text);
        let sentence = sentences.iter().find(|r| r.contains(&s)).expect("in a sentence");
        tense_at(text, sentence, &range)
    }

    #[test]
    fn cues() {
        assert_eq!(t("Kim met Trump on Tuesday.", "Tuesday"), Tense::Past);
        assert_eq!(
            t("Kim will meet Trump on Tuesday, officials said.", "Tuesday"),
            Tense::Future
        );
        assert_eq!(t("Officials said Tuesday.", "Tuesday"), Tense::Past);
        assert_eq!(t("Kim is in Beijing on Tuesday.", "Tuesday"), Tense::Present);
        assert_eq!(t("Talks on Tuesday.", "Tuesday"), Tense::Unknown);
        assert_eq!(
            t("Talks run June 19 to 20 (Tuesday), state media reported.", "Tuesday"),
            Tense::Unknown
        );
        assert_eq!(
            t("Prices fell. Talks will resume on Tuesday.", "Tuesday"),
            Tense::Future
        );
        assert_eq!(t("He arrived in Jan. and left on Friday.", "Friday"), Tense::Past);
    }
}
