//! Names in an article's lead: runs of proper nouns as the embedded part-of-speech tagger
//! reads them (src/nlp). Two write-ups of one event name the same people and places even when
//! their wording differs, which is what text similarity alone misses; a name every story has
//! (a country, a capital) is weighed down by its frequency in the feed.
//!
//! Only the tagger runs, not the parser or the entity model: names are wanted for every
//! article of a large feed, and proper-noun runs are most of what those would add here.

use std::ops::Range;

use crate::{
    nlp::{tokenize::tokenize, Pipeline, Upos},
    text::segment::split_sentences,
};

/// Sentences of the body read for names: the lead says who and where.
const LEAD_SENTENCES: usize = 4;

/// Hashed, lowercased names of the lead of `body`: each run of proper nouns, and the last
/// word of a longer run on its own ("Donald Trump" also gives "Trump", the form later
/// mentions and other outlets use). Sorted, without repeats.
pub(super) fn lead_names(body: &str) -> Vec<u64> {
    let tagger = Pipeline::embedded().tagger();
    let mut names = Vec::new();
    for sentence in split_sentences(body).into_iter().take(LEAD_SENTENCES) {
        let ranges: Vec<Range<usize>> = tokenize(body, sentence);
        let words: Vec<&str> = ranges.iter().map(|r| &body[r.clone()]).collect();
        let tags = tagger.tag(&words);
        let mut run: Vec<&str> = Vec::new();
        for (word, tag) in words.iter().zip(tags.iter().chain(std::iter::once(&Upos::Punct))) {
            let alphabetic = word.chars().next().is_some_and(char::is_alphabetic);
            if *tag == Upos::Propn && alphabetic {
                run.push(word);
                continue;
            }
            push_run(&run, &mut names);
            run.clear();
        }
        push_run(&run, &mut names);
    }
    names.sort_unstable();
    names.dedup();
    names
}

fn push_run(run: &[&str], names: &mut Vec<u64>) {
    let Some(last) = run.last() else { return };
    let normal = |w: &str| {
        let w = w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")).unwrap_or(w);
        w.to_lowercase()
    };
    let full: Vec<String> = run.iter().map(|w| normal(w)).collect();
    names.push(super::terms::hash_str(&full.join(" ")));
    if run.len() > 1 {
        names.push(super::terms::hash_str(&normal(last)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_people_are_named_in_two_write_ups() {
        let a = lead_names("President Barack Obama met Donald Trump at the White House on Thursday.");
        let b = lead_names("Donald Trump and Barack Obama spoke for ninety minutes in Washington.");
        let shared = a.iter().filter(|n| b.contains(n)).count();
        assert!(shared >= 2, "{a:?} {b:?}");
        assert!(lead_names("").is_empty());
    }
}
