//! An optional named-entity tagger: a Hugging Face BERT token-classification model (IOB2
//! labels PER/LOC/ORG/MISC, as CoNLL-2003 models use) that replaces the embedded tagger's
//! person, place and organisation names in key facts.

use std::{ops::Range, path::Path};

use rust_bert::{
    pipelines::{
        common::{ModelResource, ModelType},
        token_classification::{LabelAggregationOption, TokenClassificationConfig, TokenClassificationModel},
    },
    resources::LocalResource,
};

use super::{require, ModelError, Placement};
use crate::{facts::NamedEntities, nlp::EntityKind};

/// A loaded token-classification model. Owned by one worker thread.
pub struct NerTagger {
    model: TokenClassificationModel,
}

impl NerTagger {
    /// Loads a BERT token-classification directory (config.json with id2label,
    /// model.safetensors, vocab.txt).
    pub fn load(dir: &Path, placement: Placement) -> Result<NerTagger, ModelError> {
        let mut config = TokenClassificationConfig::new(
            ModelType::Bert,
            ModelResource::Torch(Box::new(LocalResource::from(require(dir, "model.safetensors")?))),
            LocalResource::from(require(dir, "config.json")?),
            LocalResource::from(require(dir, "vocab.txt")?),
            None,
            false,
            None,
            None,
            LabelAggregationOption::First,
        );
        config.device = placement.tch_device();
        config.kind = Some(placement.kind());
        let model = TokenClassificationModel::new(config).map_err(|source| ModelError::Load {
            what: format!("NER model from {}", dir.display()),
            source: source.into(),
        })?;
        Ok(NerTagger { model })
    }
}

/// The entity kind of an IOB2 label's type, for the types key facts use.
fn kind_of(label_type: &str) -> Option<EntityKind> {
    match label_type {
        "PER" => Some(EntityKind::Person),
        "LOC" => Some(EntityKind::Place),
        "ORG" => Some(EntityKind::Organization),
        _ => None,
    }
}

/// Joins word labels (`B-PER`, `I-PER`, `O`, ...) with their byte ranges into entity spans:
/// a span starts at `B-X` (or at an `I-X` that does not continue an `X` span) and extends
/// over following `I-X` words.
pub fn spans_from_labels<'a>(
    words: impl IntoIterator<Item = (&'a str, Range<usize>)>,
) -> Vec<(Range<usize>, EntityKind)> {
    let mut spans: Vec<(Range<usize>, EntityKind, bool)> = Vec::new();
    for (label, range) in words {
        let (prefix, label_type) = label.split_once('-').unwrap_or(("O", ""));
        let Some(kind) = kind_of(label_type) else {
            if let Some(last) = spans.last_mut() {
                last.2 = false;
            }
            continue;
        };
        match spans.last_mut() {
            Some((span, last_kind, true)) if prefix == "I" && *last_kind == kind => span.end = range.end,
            _ => {
                if let Some(last) = spans.last_mut() {
                    last.2 = false;
                }
                spans.push((range, kind, true));
            }
        }
    }
    spans.into_iter().map(|(range, kind, _)| (range, kind)).collect()
}

impl NamedEntities for NerTagger {
    fn named_entities(&self, text: &str, sentence: Range<usize>) -> Vec<(Range<usize>, EntityKind)> {
        let Some(slice) = text.get(sentence.clone()) else {
            return Vec::new();
        };
        // The model reports offsets in characters of the input.
        let byte_at: Vec<usize> = slice
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(slice.len()))
            .collect();
        let tokens = self.model.predict(&[slice], true, false);
        let words = tokens.iter().flatten().filter_map(|token| {
            let offset = token.offset?;
            let start = *byte_at.get(offset.begin as usize)?;
            let end = *byte_at.get(offset.end as usize)?;
            Some((token.label.as_str(), sentence.start + start..sentence.start + end))
        });
        spans_from_labels(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iob2_labels_become_spans() {
        let words = [
            ("B-PER", 0..3),
            ("I-PER", 4..8),
            ("O", 9..14),
            ("B-LOC", 15..22),
            ("I-ORG", 23..26),
            ("I-ORG", 27..30),
            ("B-MISC", 31..35),
            ("I-PER", 36..40),
        ];
        let spans = spans_from_labels(words.iter().map(|(l, r)| (*l, r.clone())));
        assert_eq!(
            spans,
            vec![
                (0..8, EntityKind::Person),
                (15..22, EntityKind::Place),
                (23..30, EntityKind::Organization),
                (36..40, EntityKind::Person),
            ]
        );
    }
}
