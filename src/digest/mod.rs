//! Digests: from a feed of articles to ranked, deduplicated *stories*, each with a headline,
//! a summary drawn from all of its articles, merged key facts, its sources and a score.
//!
//! Transport-neutral (no tonic): the gRPC `DigestService` and `newsgist digest` both reach it
//! through [`crate::service::Service`].
//!
//! - [`near_copy`]: syndicated near-copies by MinHash over word shingles;
//! - [`cluster`]: online story clustering in time order, stories closed once the feed has
//!   moved past their time window (bounded memory);
//! - [`story`]: a closed story's summary, headline, merged key facts, sources and score;
//! - [`render`]: email-safe HTML, Markdown and plain text from the same [`Digest`].

pub mod cluster;
mod names;
mod near_copy;
pub mod render;
pub mod story;
mod terms;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use cluster::Digester;
pub use story::Story;

/// Settings of one digest, validated.
#[derive(Debug, Clone)]
pub struct DigestOptions {
    /// The digest's title (rendered as the newsletter's heading).
    pub title: String,
    /// Most stories returned, best first; `None`: every story, stand-alone articles too.
    pub max_stories: Option<usize>,
    /// Summary sentences per story.
    pub sentences: usize,
    /// Merged key facts per story; 0: none (and none extracted).
    pub max_facts: usize,
    /// Only articles published in `[start, end)` are digested; the others are listed as
    /// rejected.
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// A story takes no more articles once the feed is this far past its latest one.
    pub story_gap: Duration,
    /// How the clustering weighs its evidence.
    pub clustering: cluster::ClusterParams,
}

impl Default for DigestOptions {
    fn default() -> Self {
        DigestOptions {
            title: String::new(),
            max_stories: Some(DEFAULT_STORIES),
            sentences: DEFAULT_SENTENCES,
            max_facts: DEFAULT_FACTS,
            window_start: None,
            window_end: None,
            story_gap: Duration::hours(DEFAULT_STORY_GAP_HOURS),
            clustering: cluster::ClusterParams::default(),
        }
    }
}

/// Stories in a digest when the caller does not say: a newsletter's worth.
pub const DEFAULT_STORIES: usize = 20;
/// Summary sentences per story when the caller does not say.
pub const DEFAULT_SENTENCES: usize = 3;
/// Key facts per story when the caller does not say.
pub const DEFAULT_FACTS: usize = 3;
/// Most summary sentences per story a caller may ask for.
pub const MAX_SENTENCES: usize = 20;
/// Most key facts per story a caller may ask for.
pub const MAX_FACTS: usize = 20;
/// How long a story stays open without a new article when the caller does not say: news
/// events run for days, and a longer gap only costs memory.
pub const DEFAULT_STORY_GAP_HOURS: i64 = 72;
/// Longest story gap a caller may ask for (a month).
pub const MAX_STORY_GAP_HOURS: i64 = 24 * 31;

/// The digest: its stories, best first, and what was left out and why.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub title: String,
    /// Publication times of the earliest and latest digested article.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_published: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_published: Option<DateTime<Utc>>,
    /// Articles digested (rejected ones not counted).
    pub articles: usize,
    /// Stories found, including those beyond `max_stories`.
    pub stories_total: usize,
    /// Articles found to be near-copies of another.
    pub near_copies: usize,
    pub stories: Vec<Story>,
    /// Articles not digested, each with why.
    pub rejected: Vec<Rejected>,
}

/// An article left out of the digest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    /// 0-based position in the feed.
    pub index: u64,
    pub id: String,
    /// An error kind name (`INVALID_ARGUMENT`) or `OUTSIDE_WINDOW`.
    pub code: String,
    pub message: String,
}
