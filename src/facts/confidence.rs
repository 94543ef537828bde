//! How sure each slot is, by the evidence it was found with, and the tuple's `confidence`.
//!
//! Each value is the share of slots found that way that match an annotator's answer
//! (token F1 >= 0.5), rounded, as measured on the dev set's leave-one-event-out folds; the
//! table that `make eval-keyfacts-loeo` prints checks the tuple's confidence against its hit
//! rate on events the values were not read from.

/// `who` by the subject's agency (see `View::agency`): a quantity or a thing, a plural
/// noun, a mention or name, a named person or organisation.
pub(crate) const WHO_BY_AGENCY: [f32; 4] = [0.35, 0.6, 0.8, 0.9];
/// `who` taken from the lead because the headline's subject is no agent.
pub(crate) const WHO_FROM_LEAD: f32 = 0.5;

pub(crate) const WHAT_HEADLINE: f32 = 0.8;
pub(crate) const WHAT_BODY: f32 = 0.5;

/// A day stated in the tuple's own sentence.
pub(crate) const WHEN_STATED: f32 = 0.8;
/// A day in the first lead sentences, for the headline.
pub(crate) const WHEN_LEAD: f32 = 0.7;
/// A day in a later lead sentence about the same subject.
pub(crate) const WHEN_ABOUT_SUBJECT: f32 = 0.55;
/// A day in a later sentence about the headline's event.
pub(crate) const WHEN_FURTHER: f32 = 0.5;
/// The publication day: right most of the time, but the text does not state it.
pub(crate) const WHEN_PUBLISHED: f32 = 0.3;

pub(crate) const WHERE_HEADLINE_KNOWN: f32 = 0.9;
pub(crate) const WHERE_HEADLINE: f32 = 0.75;
pub(crate) const WHERE_OWN_SENTENCE: f32 = 0.6;
pub(crate) const WHERE_MODIFIER: f32 = 0.75;
pub(crate) const WHERE_FIRST_LEAD: f32 = 0.7;
pub(crate) const WHERE_DATELINE: f32 = 0.8;
pub(crate) const WHERE_LEAD: f32 = 0.55;
pub(crate) const WHERE_LEXICON_LEAD: f32 = 0.5;
pub(crate) const WHERE_DEMONYM: f32 = 0.4;

/// Confidence of a body sentence's tuple against the headline's, at equal slots: the
/// headline states the main event.
const BODY_FACTOR: f32 = 0.85;

/// The tuple's confidence: the mean of its who/what/when/where slot confidences, an empty
/// slot counting as 0 (a tuple that says less is less of an answer), less for a body
/// sentence's tuple.
pub(crate) fn tuple(slots: &[Option<f32>; 4], headline: bool) -> f32 {
    let mean = slots.iter().map(|s| s.unwrap_or(0.0)).sum::<f32>() / 4.0;
    (mean * if headline { 1.0 } else { BODY_FACTOR }).clamp(0.0, 1.0)
}
