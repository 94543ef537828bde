//! Key facts: who/what/when/where tuples read from an article.
//!
//! First version: the lead sentences' leading capitalised name as `who`, the rest of the
//! clause as `what`, and a capitalised name after "in"/"at" as `where`. The NLP pipeline
//! (`crate::nlp`) and temporal expressions (`timex`) replace these heuristics.

pub mod timex;

use std::ops::Range;

use crate::{
    request::Article,
    response::{FactField, Field, KeyFact},
    text::segment::split_sentences,
};

/// Sentences of the lead that facts are read from; news puts the main event first.
const LEAD_SENTENCES: usize = 5;

/// Up to `max` key facts of `article`, best first.
pub fn extract(article: &Article, _anchor: chrono::NaiveDateTime, max: usize) -> Vec<KeyFact> {
    let body = article.body.as_str();
    let mut facts: Vec<KeyFact> = split_sentences(body)
        .into_iter()
        .take(LEAD_SENTENCES)
        .enumerate()
        .filter_map(|(rank, sentence)| fact_from_sentence(body, sentence, rank))
        .collect();
    facts.truncate(max);
    facts
}

fn fact_from_sentence(text: &str, sentence: Range<usize>, rank: usize) -> Option<KeyFact> {
    let who = capitalised_runs(text, sentence.clone()).into_iter().next()?;
    let what_start = who.end + text[who.end..sentence.end].len() - text[who.end..sentence.end].trim_start().len();
    let what_end = text[..sentence.end].trim_end_matches(['.', '!', '?', '"', '”']).len();
    let where_ = capitalised_runs(text, sentence.clone()).into_iter().find(|run| {
        let before = text[sentence.start..run.start].trim_end();
        before.ends_with(" in") || before.ends_with(" at")
    });
    let field = |range: Range<usize>| FactField::span(Field::Body, text, range);
    Some(KeyFact {
        who: Some(field(who)),
        what: (what_start < what_end).then(|| field(what_start..what_end)),
        when: None,
        where_: where_.map(field),
        evidence: field(sentence),
        confidence: 1.0 / (1.0 + rank as f32),
    })
}

/// Byte ranges of runs of capitalised words inside `sentence`. A lone capitalised first
/// word is skipped: sentence case, not a name.
fn capitalised_runs(text: &str, sentence: Range<usize>) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut open: Option<Range<usize>> = None;
    let mut position = sentence.start;
    for (index, word) in text[sentence].split(' ').enumerate() {
        let range = position..position + word.len();
        position = range.end + 1;
        if word.chars().next().is_some_and(char::is_uppercase) {
            open = Some(open.map_or(range.clone(), |run| run.start..range.end));
            continue;
        }
        if let Some(run) = open.take() {
            let lone_first_word = index == 1;
            if !lone_first_word {
                runs.push(run);
            }
        }
    }
    runs.extend(open);
    runs
}
