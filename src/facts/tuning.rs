//! The numbers key-fact extraction weighs its evidence with. They are not fitted to one
//! article: `make eval-keyfacts-loeo` chooses them on four dev events and scores them on
//! the fifth (see `examples/keyfacts_grid.rs` and `scripts/keyfacts/loeo.py`), and the
//! shipped values ([`Tuning::SHIPPED`]) are the choice on all five.

/// Weights and limits of key-fact extraction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuning {
    /// Lead sentences searched for the headline's time: further down, dates tend to be
    /// background ("the letter of October 28").
    pub time_context: usize,
    /// Lead sentences searched for the headline's place.
    pub place_context: usize,
    /// Rank of a body sentence's tuple against the headline's (1.0).
    pub lead_weight: f32,
    /// Decay of that rank per lead sentence.
    pub lead_decay: f32,
    /// Rank gained per time or place the tuple's own sentence states.
    pub filled_weight: f32,
    /// Rank gained by a subject the article keeps naming.
    pub salience_weight: f32,
    /// Rank lost by a tuple without a subject.
    pub no_who_penalty: f32,
}

impl Tuning {
    /// The values the service runs with.
    pub const SHIPPED: Tuning = Tuning {
        time_context: 3,
        place_context: 5,
        lead_weight: 0.8,
        lead_decay: 0.9,
        filled_weight: 0.1,
        salience_weight: 0.1,
        no_who_penalty: 0.3,
    };
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning::SHIPPED
    }
}
