//! Where generation time goes, stage by stage: the abstractive bench prints it, so that a
//! speed change can be traced to the stage that made it. Recording costs two clock reads per
//! stage and decoder step, far below a step's milliseconds.

use std::{sync::Mutex, time::Instant};

use serde::Serialize;

/// Seconds spent in each stage, summed over the generation calls since the last
/// [`StageClock::take`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageTimes {
    pub generate_calls: usize,
    pub decoder_steps: usize,
    /// The encoder stack over the inputs.
    pub encoder_s: f64,
    /// Projecting the encoder output to each decoder layer's cross-attention keys/values.
    pub cross_key_values_s: f64,
    /// The decoder layers of every step (embedding to final norm).
    pub decoder_layers_s: f64,
    /// The output layer (hidden states to vocabulary logits) of every step.
    pub output_layer_s: f64,
    /// Reordering the self-attention caches after beams were chosen.
    pub cache_reorder_s: f64,
    /// The rest: log-softmax, logits processors, top-k and the hosts' beam bookkeeping.
    pub search_s: f64,
}

/// Which stage a span of time belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Encoder,
    CrossKeyValues,
    DecoderLayers,
    OutputLayer,
    CacheReorder,
}

/// Accumulates [`StageTimes`]; a Mutex so that the model stays `Sync` (it is locked only
/// by the one thread generating).
#[derive(Default)]
pub struct StageClock(Mutex<StageTimes>);

impl StageClock {
    /// Runs `f`, counting its time to `stage`.
    pub fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = f();
        let seconds = started.elapsed().as_secs_f64();
        let mut times = self.lock();
        let slot = match stage {
            Stage::Encoder => &mut times.encoder_s,
            Stage::CrossKeyValues => &mut times.cross_key_values_s,
            Stage::DecoderLayers => {
                times.decoder_steps += 1;
                &mut times.decoder_layers_s
            }
            Stage::OutputLayer => &mut times.output_layer_s,
            Stage::CacheReorder => &mut times.cache_reorder_s,
        };
        *slot += seconds;
        result
    }

    /// Runs a whole generation call `f`, counting the time no stage claimed to search.
    pub fn generation<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = self.lock().clone();
        let started = Instant::now();
        let result = f();
        let total = started.elapsed().as_secs_f64();
        let mut times = self.lock();
        let staged = |t: &StageTimes| {
            t.encoder_s + t.cross_key_values_s + t.decoder_layers_s + t.output_layer_s + t.cache_reorder_s
        };
        times.search_s += total - (staged(&times) - staged(&before));
        times.generate_calls += 1;
        result
    }

    /// The times so far, resetting them.
    pub fn take(&self) -> StageTimes {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StageTimes> {
        // The times are plain numbers: a panic while they were locked leaves them usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
