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
    /// A headline subject less of an agent than this (see `View::agency`: 0 a quantity or
    /// a thing, 1 a plural noun, 2 a person, organisation or other name, 3 a named person or
    /// organisation) gives way to a lead sentence's subject that is more of one.
    pub min_agency: u8,
    /// Lead sentences searched for that subject.
    pub weak_who_lead: usize,
    /// A headline's verb is first sought among the words the tagger calls verbs, before the
    /// headline guesses (see `View::headline_predication_with`).
    pub tagged_verbs_first: bool,
    /// A place the lexicon knows that only modifies a noun in the headline ("Lyon metro
    /// strike") is the main event's place, before the lead's.
    pub modifier_places: bool,
    /// Without a locative phrase or dateline, the first place the lexicon knows in the lead.
    pub lexicon_lead: bool,
    /// Content sentences after the lead searched for the main event's day (0: none).
    pub further_sentences: usize,
    /// Headline words such a sentence must share to be about the main event.
    pub topic_overlap: usize,
    /// Slots found with less confidence than this (see `confidence.rs`) are left empty.
    pub min_slot_confidence: f32,
}

impl Tuning {
    /// The values the service runs with.
    pub const SHIPPED: Tuning = Tuning {
        time_context: 3,
        place_context: 5,
        lead_weight: 0.6,
        lead_decay: 1.0,
        filled_weight: 0.1,
        salience_weight: 0.1,
        no_who_penalty: 0.3,
        min_agency: 3,
        weak_who_lead: 1,
        tagged_verbs_first: false,
        modifier_places: true,
        lexicon_lead: true,
        further_sentences: 20,
        topic_overlap: 1,
        min_slot_confidence: 0.0,
    };
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning::SHIPPED
    }
}
