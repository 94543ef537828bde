//! Greedy and beam search with transformers 4.44's semantics (logits processors in its
//! order, BeamSearchScorer's bookkeeping and length normalisation), so that the same model
//! and settings give the same tokens. Token histories live on the host: the per-step work
//! outside the network is a top-k and a few small copies.

use tch::{Kind, Tensor};

use super::{DecoderState, Seq2SeqModel, SpecialTokens};

/// How to decode. Lengths count decoder tokens including the start token, as transformers'
/// `min_length` / `max_length` do.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSettings {
    pub num_beams: usize,
    pub min_length: usize,
    pub max_length: usize,
    pub no_repeat_ngram_size: usize,
    pub length_penalty: f64,
    /// Stop an input's search once it has `num_beams` finished hypotheses.
    pub early_stopping: bool,
}

pub(super) fn run(
    model: &Seq2SeqModel,
    state: DecoderState,
    inputs: usize,
    settings: &SearchSettings,
) -> Vec<Vec<i64>> {
    if settings.num_beams <= 1 {
        greedy(model, state, inputs, settings)
    } else {
        beam(model, state, inputs, settings)
    }
}

/// Tokens that would repeat an n-gram already in `history` (NoRepeatNGramLogitsProcessor).
fn banned_by_ngrams(history: &[i64], n: usize) -> Vec<i64> {
    let len = history.len();
    if n == 0 || len + 1 < n {
        return Vec::new();
    }
    let prefix = &history[len + 1 - n..];
    history
        .windows(n)
        .filter(|gram| &gram[..n - 1] == prefix)
        .map(|gram| gram[n - 1])
        .collect()
}

/// Applies transformers' processors, in its order, to `scores` (rows, vocabulary): no
/// repeated n-grams, no end of sequence before `min_length`, then the forced first and last
/// tokens. `length` is the current length of every history.
fn process(
    scores: &mut Tensor,
    histories: &[Vec<i64>],
    length: usize,
    settings: &SearchSettings,
    tokens: &SpecialTokens,
) {
    let device = scores.device();
    let (mut rows, mut columns) = (Vec::new(), Vec::new());
    for (row, history) in histories.iter().enumerate() {
        for token in banned_by_ngrams(history, settings.no_repeat_ngram_size) {
            rows.push(row as i64);
            columns.push(token);
        }
    }
    let minus_infinity = Tensor::from(f32::NEG_INFINITY).to_device(device);
    if !rows.is_empty() {
        let index = [
            Some(Tensor::from_slice(&rows).to_device(device)),
            Some(Tensor::from_slice(&columns).to_device(device)),
        ];
        let _ = scores.index_put_(&index, &minus_infinity, false);
    }
    if length < settings.min_length {
        let _ = scores.narrow(1, tokens.eos_token_id, 1).fill_(f64::NEG_INFINITY);
    }
    // transformers forces BOS, then EOS: when both apply, EOS wins.
    let forced = match (tokens.forced_bos_token_id, tokens.forced_eos_token_id) {
        (_, Some(eos)) if length + 1 == settings.max_length => Some(eos),
        (Some(bos), _) if length == 1 => Some(bos),
        _ => None,
    };
    if let Some(token) = forced {
        let _ = scores.fill_(f64::NEG_INFINITY);
        let _ = scores.narrow(1, token, 1).fill_(0.0);
    }
}

fn last_tokens(histories: &[Vec<i64>]) -> Vec<i64> {
    histories
        .iter()
        .map(|h| *h.last().expect("histories start with a token"))
        .collect()
}

fn greedy(model: &Seq2SeqModel, mut state: DecoderState, inputs: usize, settings: &SearchSettings) -> Vec<Vec<i64>> {
    let tokens = &model.tokens;
    let mut histories = vec![vec![tokens.decoder_start_token_id]; inputs];
    let mut unfinished = vec![true; inputs];
    while histories[0].len() < settings.max_length && unfinished.iter().any(|&u| u) {
        let mut scores = model.step(&last_tokens(&histories), &mut state);
        process(&mut scores, &histories, histories[0].len(), settings, tokens);
        let next = Vec::<i64>::try_from(scores.argmax(-1, false)).expect("argmax is a vector of ids");
        for ((history, open), token) in histories.iter_mut().zip(&mut unfinished).zip(next) {
            history.push(if *open { token } else { tokens.pad_token_id });
            *open &= token != tokens.eos_token_id;
        }
    }
    // Rows that finished early were padded to the batch's length; each input gets its own
    // sequence, as it would generating alone (the start token may itself be the EOS id).
    for history in &mut histories {
        if let Some(end) = history.iter().skip(1).position(|&t| t == tokens.eos_token_id) {
            history.truncate(end + 2);
        }
    }
    histories
}

/// Finished hypotheses of one input (transformers' BeamHypotheses).
struct Finished {
    beams: usize,
    length_penalty: f64,
    early_stopping: bool,
    hypotheses: Vec<(f64, Vec<i64>)>,
    worst: f64,
}

impl Finished {
    fn new(settings: &SearchSettings) -> Finished {
        Finished {
            beams: settings.num_beams,
            length_penalty: settings.length_penalty,
            early_stopping: settings.early_stopping,
            hypotheses: Vec::new(),
            worst: 1e9,
        }
    }

    /// Adds `tokens` with summed log-probability `sum` over `generated` tokens, keeping the
    /// best `beams`.
    fn add(&mut self, tokens: Vec<i64>, sum: f64, generated: usize) {
        let score = sum / (generated as f64).powf(self.length_penalty);
        if self.hypotheses.len() < self.beams || score > self.worst {
            self.hypotheses.push((score, tokens));
            if self.hypotheses.len() > self.beams {
                let mut ranked: Vec<(f64, usize)> =
                    self.hypotheses.iter().enumerate().map(|(i, (s, _))| (*s, i)).collect();
                ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                self.hypotheses.remove(ranked[0].1);
                self.worst = ranked[1].0;
            } else {
                self.worst = self.worst.min(score);
            }
        }
    }

    /// Whether no open beam can beat the finished ones (`best_sum` is the best open score).
    fn is_done(&self, best_sum: f64, length: usize) -> bool {
        if self.hypotheses.len() < self.beams {
            return false;
        }
        self.early_stopping || self.worst >= best_sum / ((length - 1) as f64).powf(self.length_penalty)
    }

    /// The best hypothesis; among equal scores the last added, as Python's stable sort and
    /// pop pick it.
    fn best(self) -> Vec<i64> {
        let mut best: Option<(f64, Vec<i64>)> = None;
        for (score, tokens) in self.hypotheses {
            if best.as_ref().is_none_or(|(top, _)| score >= *top) {
                best = Some((score, tokens));
            }
        }
        best.map(|(_, tokens)| tokens).unwrap_or_default()
    }
}

fn beam(model: &Seq2SeqModel, mut state: DecoderState, inputs: usize, settings: &SearchSettings) -> Vec<Vec<i64>> {
    let tokens = &model.tokens;
    let beams = settings.num_beams;
    let rows = inputs * beams;
    let device = model.device;
    let mut histories = vec![vec![tokens.decoder_start_token_id]; rows];
    // All beams start identical; only the first may be extended at the first step.
    let mut beam_scores: Vec<f32> = (0..rows).map(|r| if r % beams == 0 { 0.0 } else { -1e9 }).collect();
    let mut finished: Vec<Finished> = (0..inputs).map(|_| Finished::new(settings)).collect();
    let mut done = vec![false; inputs];
    let candidates = 2 * beams;
    loop {
        let logits = model.step(&last_tokens(&histories), &mut state);
        let mut scores = logits.log_softmax(-1, Kind::Float);
        process(&mut scores, &histories, histories[0].len(), settings, tokens);
        let vocabulary = scores.size()[1];
        let totals = scores + Tensor::from_slice(&beam_scores).to_device(device).unsqueeze(1);
        let (top_scores, top_ids) =
            totals
                .view([inputs as i64, beams as i64 * vocabulary])
                .topk(candidates as i64, 1, true, true);
        let top_scores = Vec::<f32>::try_from(top_scores.view(-1)).expect("top-k scores");
        let top_ids = Vec::<i64>::try_from(top_ids.view(-1)).expect("top-k ids");

        // transformers counts the token being chosen in the length.
        let length = histories[0].len() + 1;
        let mut next_scores = vec![0f32; rows];
        let mut next_tokens = vec![tokens.pad_token_id; rows];
        let mut next_rows: Vec<i64> = (0..rows).map(|r| (r - r % beams) as i64).collect();
        for input in 0..inputs {
            if done[input] {
                continue;
            }
            let mut filled = 0;
            for rank in 0..candidates {
                let at = input * candidates + rank;
                let row = input * beams + (top_ids[at] / vocabulary) as usize;
                let token = top_ids[at] % vocabulary;
                if token == tokens.eos_token_id {
                    if rank < beams {
                        finished[input].add(histories[row].clone(), f64::from(top_scores[at]), length - 1);
                    }
                } else {
                    let slot = input * beams + filled;
                    next_scores[slot] = top_scores[at];
                    next_tokens[slot] = token;
                    next_rows[slot] = row as i64;
                    filled += 1;
                }
                if filled == beams {
                    break;
                }
            }
            done[input] = finished[input].is_done(f64::from(top_scores[input * candidates]), length);
        }
        if done.iter().all(|&d| d) {
            break;
        }
        histories = next_rows
            .iter()
            .zip(&next_tokens)
            .map(|(&row, &token)| {
                let mut history = histories[row as usize].clone();
                history.push(token);
                history
            })
            .collect();
        beam_scores = next_scores;
        if histories[0].len() >= settings.max_length {
            break;
        }
        model.reorder(&mut state, &next_rows);
    }
    for (input, finished) in finished.iter_mut().enumerate() {
        if done[input] {
            continue;
        }
        for row in input * beams..(input + 1) * beams {
            finished.add(
                histories[row].clone(),
                f64::from(beam_scores[row]),
                histories[row].len() - 1,
            );
        }
    }
    finished
        .into_iter()
        .map(|finished| {
            let mut best = finished.best();
            // transformers closes a hypothesis that stopped short of max_length with EOS.
            if best.len() < settings.max_length {
                best.push(tokens.eos_token_id);
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngram_ban_lists_every_continuation_of_the_current_prefix() {
        // history ... 5 6 7 ... 5 6 9 ... 5 6: both 7 and 9 would repeat a trigram.
        let history = [1, 5, 6, 7, 2, 5, 6, 9, 5, 6];
        let mut banned = banned_by_ngrams(&history, 3);
        banned.sort();
        assert_eq!(banned, vec![7, 9]);
        assert!(banned_by_ngrams(&history, 0).is_empty());
        assert!(banned_by_ngrams(&[1], 3).is_empty(), "too short to hold an n-gram");
    }

    #[test]
    fn finished_keeps_the_best_beams_and_length_normalises() {
        let settings = SearchSettings {
            num_beams: 2,
            min_length: 0,
            max_length: 10,
            no_repeat_ngram_size: 0,
            length_penalty: 1.0,
            early_stopping: false,
        };
        let mut finished = Finished::new(&settings);
        finished.add(vec![0, 1], -4.0, 2); // -2.0
        finished.add(vec![0, 2], -3.0, 1); // -3.0
        finished.add(vec![0, 3], -3.0, 3); // -1.0, evicts -3.0
        assert_eq!(finished.hypotheses.len(), 2);
        assert_eq!(finished.worst, -2.0);
        // An open beam at -5 over 4 tokens (-1.25) could still beat the worst (-2.0).
        assert!(!finished.is_done(-5.0, 5));
        assert!(finished.is_done(-9.0, 5));
        assert_eq!(finished.best(), vec![0, 3]);
    }
}
