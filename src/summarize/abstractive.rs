//! Abstractive summarisation with BART, T5 and Pegasus models loaded from HF-format
//! directories (the networks and search are in [`crate::seq2seq`]).
//!
//! Articles longer than the model's input window are never truncated: they are cut into
//! sentence-aligned chunks that fit, the chunks are summarised in one batch, and the joined
//! chunk summaries are summarised again until the text fits one window.

use std::ops::Range;

use rust_bert::pipelines::common::{ModelType, TokenizerOption};
use rust_tokenizers::tokenizer::TruncationStrategy;

use crate::{
    models::{require, Architecture, ModelError, ModelProfile, Placement},
    request::AbstractiveParams,
    seq2seq::{SearchSettings, Seq2SeqError, Seq2SeqModel, StageTimes},
    text::segment::split_sentences,
};

/// An abstractive summary and how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct AbstractiveOutput {
    pub text: String,
    /// First-level chunks the article was cut into (1 when it fit the window).
    pub chunks: usize,
    /// Article length in model tokens.
    pub input_tokens: usize,
}

/// A loaded abstractive model. Owned by one worker thread.
pub struct AbstractiveModel {
    profile: ModelProfile,
    tokenizer: TokenizerOption,
    model: Seq2SeqModel,
}

impl AbstractiveModel {
    /// Loads the profile's weights and tokenizer onto `placement`'s device.
    pub fn load(profile: &ModelProfile, placement: Placement) -> Result<AbstractiveModel, ModelError> {
        let dir = &profile.dir;
        let (vocab, merges) = profile.architecture.tokenizer_files();
        let merges = merges.map(|file| require(dir, file)).transpose()?;
        let what = || format!("abstractive model {:?} from {}", profile.name, dir.display());
        let model_type = match profile.architecture {
            Architecture::Bart => ModelType::Bart,
            Architecture::T5 => ModelType::T5,
            Architecture::Pegasus => ModelType::Pegasus,
        };
        let tokenizer = TokenizerOption::from_file(
            model_type,
            &require(dir, vocab)?.to_string_lossy(),
            merges.as_ref().map(|m| m.to_string_lossy()).as_deref(),
            false,
            None,
            None,
        )
        .map_err(|source| ModelError::Load {
            what: what(),
            source: source.into(),
        })?;
        let model =
            Seq2SeqModel::load(dir, profile.architecture, placement, profile.quantization).map_err(|source| {
                ModelError::Load {
                    what: what(),
                    source: source.into(),
                }
            })?;
        Ok(AbstractiveModel {
            profile: profile.clone(),
            tokenizer,
            model,
        })
    }

    pub fn profile(&self) -> &ModelProfile {
        &self.profile
    }

    /// Seconds per generation stage since the last call (the abstractive bench's profile).
    pub fn take_stage_times(&self) -> StageTimes {
        self.model.take_stage_times()
    }

    /// Length of `text` in model tokens, without special tokens.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.tokenize(text).len()
    }

    fn settings(&self, params: &AbstractiveParams) -> SearchSettings {
        let defaults = &self.profile.generation;
        SearchSettings {
            num_beams: params.num_beams.unwrap_or(defaults.num_beams) as usize,
            min_length: params.min_tokens.unwrap_or(defaults.min_length) as usize,
            max_length: params.max_tokens.unwrap_or(defaults.max_length) as usize,
            no_repeat_ngram_size: defaults.no_repeat_ngram_size as usize,
            length_penalty: defaults.length_penalty,
            early_stopping: defaults.early_stopping,
        }
    }

    /// Token ids of `text` as the model reads it: special tokens added, cut to the window.
    /// With [`AbstractiveModel::generate_ids`], the parity tests against Hugging Face
    /// transformers use it.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        self.encode_all(&[text]).pop().unwrap_or_default()
    }

    fn encode_all<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> Vec<Vec<i64>> {
        self.tokenizer
            .encode_list(
                texts,
                self.profile.max_input_tokens,
                &TruncationStrategy::LongestFirst,
                0,
            )
            .into_iter()
            .map(|encoded| encoded.token_ids)
            .collect()
    }

    /// Generated token ids (decoder start token first) for one tokenised input.
    pub fn generate_ids(&self, input_ids: &[i64], params: &AbstractiveParams) -> Result<Vec<i64>, Seq2SeqError> {
        let mut outputs = self.generate_ids_batch(&[input_ids.to_vec()], params)?;
        Ok(outputs.pop().unwrap_or_default())
    }

    /// Next-token logits (steps, vocabulary) along `output_ids` for one tokenised input
    /// (see [`Seq2SeqModel::teacher_forced_logits`]): the fidelity measure of int8 weights.
    pub fn teacher_forced_logits(&self, input_ids: &[i64], output_ids: &[i64]) -> tch::Tensor {
        self.model.teacher_forced_logits(input_ids, output_ids)
    }

    /// [`AbstractiveModel::generate_ids`] for several inputs in one batch.
    pub fn generate_ids_batch(
        &self,
        inputs: &[Vec<i64>],
        params: &AbstractiveParams,
    ) -> Result<Vec<Vec<i64>>, Seq2SeqError> {
        self.model.generate(inputs, &self.settings(params))
    }

    fn generate(&self, inputs: &[String], params: &AbstractiveParams) -> Result<Vec<String>, Seq2SeqError> {
        let prefix = &self.profile.generation.prefix;
        let prefixed: Vec<String> = inputs.iter().map(|text| format!("{prefix}{text}")).collect();
        let outputs = self.generate_ids_batch(&self.encode_all(&prefixed), params)?;
        Ok(outputs
            .iter()
            .map(|ids| self.tokenizer.decode(ids, true, true).trim().to_string())
            .collect())
    }

    /// Tokens one chunk may hold: the window less special tokens and the prefix.
    fn chunk_budget(&self) -> usize {
        let prefix = self.count_tokens(&self.profile.generation.prefix);
        self.profile.max_input_tokens.saturating_sub(prefix + 2).max(8)
    }

    /// Summarises `text`, chunking it when it exceeds the model's window.
    pub fn summarize(&self, text: &str, params: &AbstractiveParams) -> Result<AbstractiveOutput, Seq2SeqError> {
        let mut outputs = self.summarize_many(&[text], params)?;
        Ok(outputs.pop().expect("one output per text"))
    }

    /// Summarises several texts with the same settings, batching the model calls: every
    /// chunk of every text goes through [`AbstractiveModel::generate_batched`] together.
    pub fn summarize_many(
        &self,
        texts: &[&str],
        params: &AbstractiveParams,
    ) -> Result<Vec<AbstractiveOutput>, Seq2SeqError> {
        let budget = self.chunk_budget();
        let count = |s: &str| self.count_tokens(s);
        let mut rounds: Vec<Vec<String>> = texts.iter().map(|text| plan_chunks(text, budget, count)).collect();
        let mut outputs: Vec<AbstractiveOutput> = texts
            .iter()
            .zip(&rounds)
            .map(|(text, chunks)| AbstractiveOutput {
                text: String::new(),
                chunks: chunks.len().max(1),
                input_tokens: count(text),
            })
            .collect();
        let mut open: Vec<usize> = (0..texts.len()).collect();
        while !open.is_empty() {
            let inputs: Vec<String> = open.iter().flat_map(|&i| rounds[i].iter().cloned()).collect();
            let mut summaries = self.generate_batched(&inputs, params)?.into_iter();
            let mut still_open = Vec::new();
            for &i in &open {
                let chunk_summaries: Vec<String> = summaries.by_ref().take(rounds[i].len()).collect();
                if chunk_summaries.len() <= 1 {
                    outputs[i].text = chunk_summaries.into_iter().next().unwrap_or_default();
                    continue;
                }
                let joined = chunk_summaries.join(" ");
                let next = plan_chunks(&joined, budget, count);
                // Each round must shrink the text; if the summaries are as long as their
                // inputs (max_tokens near the window), summarise the first window-full.
                rounds[i] = if next.len() < rounds[i].len() {
                    next
                } else {
                    next.into_iter().take(1).collect()
                };
                still_open.push(i);
            }
            open = still_open;
        }
        Ok(outputs)
    }

    /// Generates a summary per input, in input order. Inputs are sorted by length and cut
    /// into groups whose padded size (longest input x group size) stays within
    /// `PADDED_TOKENS_PER_CALL`, so that short inputs are not padded to the longest one.
    fn generate_batched(&self, inputs: &[String], params: &AbstractiveParams) -> Result<Vec<String>, Seq2SeqError> {
        let lengths: Vec<usize> = inputs.iter().map(|text| self.count_tokens(text) + 2).collect();
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| lengths[i]);
        let mut results = vec![String::new(); inputs.len()];
        let mut group: Vec<usize> = Vec::new();
        let flush = |group: &mut Vec<usize>, results: &mut Vec<String>| -> Result<(), Seq2SeqError> {
            if group.is_empty() {
                return Ok(());
            }
            let texts: Vec<String> = group.iter().map(|&i| inputs[i].clone()).collect();
            for (&i, summary) in group.iter().zip(self.generate(&texts, params)?) {
                results[i] = summary;
            }
            group.clear();
            Ok(())
        };
        for i in order {
            // Sorted ascending, so this input is the group's longest.
            if !group.is_empty() && lengths[i] * (group.len() + 1) > PADDED_TOKENS_PER_CALL {
                flush(&mut group, &mut results)?;
            }
            group.push(i);
        }
        flush(&mut group, &mut results)?;
        Ok(results)
    }
}

/// Padded input tokens (longest input x inputs) one generation call may hold. Bounds memory
/// (beams multiply it) and keeps padding waste low. Not `--batch-tokens`, which bounds the
/// estimated tokens of the requests a worker takes together; those are cut into calls here.
const PADDED_TOKENS_PER_CALL: usize = 8192;

/// Cuts `text` into pieces of at most `budget` tokens (as `count` measures them), breaking
/// between sentences, and inside a sentence at spaces only when the sentence alone is too
/// long. Every word of `text` ends up in exactly one piece.
pub fn plan_chunks(text: &str, budget: usize, count: impl Fn(&str) -> usize) -> Vec<String> {
    let mut pieces: Vec<Range<usize>> = Vec::new();
    for sentence in split_sentences(text) {
        if count(&text[sentence.clone()]) <= budget {
            pieces.push(sentence);
        } else {
            pieces.extend(split_words(text, sentence, budget, &count));
        }
    }
    let mut chunks = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for piece in pieces {
        current = match current {
            Some(open) if count(&text[open.start..piece.end]) <= budget => Some(open.start..piece.end),
            Some(open) => {
                chunks.push(text[open].to_string());
                Some(piece)
            }
            None => Some(piece),
        };
    }
    chunks.extend(current.map(|open| text[open].to_string()));
    chunks
}

/// Splits one over-long sentence at spaces into runs of at most `budget` tokens (a single
/// word longer than the budget stays whole; the tokenizer's window then truncates only it).
fn split_words(text: &str, sentence: Range<usize>, budget: usize, count: &impl Fn(&str) -> usize) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = sentence.start;
    let mut last_fit = None;
    let words = text[sentence.clone()]
        .match_indices(' ')
        .map(|(i, _)| sentence.start + i)
        .chain(std::iter::once(sentence.end));
    for end in words {
        if count(&text[start..end]) <= budget {
            last_fit = Some(end);
            continue;
        }
        let cut = last_fit.unwrap_or(end);
        runs.push(start..cut);
        start = (cut + 1).min(sentence.end);
        last_fit = (count(&text[start..end]) <= budget).then_some(end);
    }
    if start < sentence.end {
        runs.push(start..sentence.end);
    }
    runs.retain(|r| !text[r.clone()].trim().is_empty());
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    #[test]
    fn short_text_is_one_chunk() {
        let text = "One two three. Four five.";
        assert_eq!(plan_chunks(text, 10, words), vec![text.to_string()]);
    }

    #[test]
    fn chunks_break_between_sentences_and_fit_the_budget() {
        let text = "a b c. d e f. g h i. j k l.";
        let chunks = plan_chunks(text, 6, words);
        assert_eq!(chunks, vec!["a b c. d e f.", "g h i. j k l."]);
        assert!(chunks.iter().all(|c| words(c) <= 6));
    }

    #[test]
    fn an_over_long_sentence_is_split_at_spaces_and_nothing_is_lost() {
        let text = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11.";
        let chunks = plan_chunks(text, 4, words);
        assert!(chunks.len() >= 3, "{chunks:?}");
        assert!(chunks.iter().all(|c| words(c) <= 4), "{chunks:?}");
        let rejoined: Vec<&str> = chunks.iter().flat_map(|c| c.split_whitespace()).collect();
        let original: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(rejoined, original);
    }
}
