//! Digests: from a feed of articles to ranked, deduplicated *stories*, each with a headline,
//! a summary drawn from all of its articles, merged key facts, its sources and a score.
//!
//! Transport-neutral (no tonic): the gRPC `DigestService` and `newsgist digest` both reach it
//! through [`crate::service::Service`].
//!
//! - [`near_copy`]: syndicated near-copies by MinHash over word shingles;
//! - [`background`]: how common words are in general text, so that term weights are sensible
//!   from a feed's first article;
//! - [`cluster`]: online story clustering in time order, stories closed once the feed has
//!   moved past their time window (bounded memory);
//! - [`story`]: a closed story's summary, headline, merged key facts, sources and score;
//! - [`render`]: email-safe HTML, Markdown and plain text from the same [`Digest`].

pub mod background;
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
#[derive(Debug, Clone, Default, Serialize)]
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

/// Options as a caller states them, before validation. `None`/zero means "default".
#[derive(Debug, Clone, Default)]
pub struct RawDigestOptions {
    pub title: String,
    /// `Some(0)`: every story.
    pub max_stories: Option<u32>,
    pub sentences: Option<u32>,
    /// `Some(0)`: no key facts.
    pub max_facts: Option<u32>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub story_gap_hours: Option<u32>,
}

/// Why a digest was refused, each message saying what to change.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("sentences per story must be between 1 and {MAX_SENTENCES}, got {0}")]
    Sentences(u32),
    #[error("key facts per story must be at most {MAX_FACTS}, got {0}")]
    Facts(u32),
    #[error("story gap must be between 1 and {MAX_STORY_GAP_HOURS} hours, got {0}")]
    StoryGap(u32),
    #[error("the digest's time window ends ({end}) before it starts ({start})")]
    Window { start: DateTime<Utc>, end: DateTime<Utc> },
    #[error("title is {0} bytes, over the limit of {max} bytes", max = crate::config::limits::MAX_TITLE_BYTES)]
    Title(usize),
    #[error("a digest takes at most {max} articles (--max-digest-articles): split the feed into several digests")]
    TooManyArticles { max: usize },
    #[error("{max} digests are already being built (--max-digests): retry with backoff")]
    Busy { max: usize },
    #[error("only the first message of a digest stream may carry options")]
    OptionsOutOfPlace,
    #[error("unknown {field} value {value}")]
    UnknownValue { field: &'static str, value: i32 },
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

impl RawDigestOptions {
    /// Checks the options and fills in defaults.
    pub fn validate(self) -> Result<DigestOptions, DigestError> {
        if self.title.len() > crate::config::limits::MAX_TITLE_BYTES {
            return Err(DigestError::Title(self.title.len()));
        }
        let sentences = self.sentences.unwrap_or(DEFAULT_SENTENCES as u32);
        if sentences == 0 || sentences as usize > MAX_SENTENCES {
            return Err(DigestError::Sentences(sentences));
        }
        let max_facts = self.max_facts.unwrap_or(DEFAULT_FACTS as u32);
        if max_facts as usize > MAX_FACTS {
            return Err(DigestError::Facts(max_facts));
        }
        let gap = self.story_gap_hours.unwrap_or(DEFAULT_STORY_GAP_HOURS as u32);
        if gap == 0 || i64::from(gap) > MAX_STORY_GAP_HOURS {
            return Err(DigestError::StoryGap(gap));
        }
        if let (Some(start), Some(end)) = (self.window_start, self.window_end) {
            if end < start {
                return Err(DigestError::Window { start, end });
            }
        }
        Ok(DigestOptions {
            title: self.title,
            max_stories: match self.max_stories {
                Some(0) => None,
                Some(n) => Some(n as usize),
                None => Some(DEFAULT_STORIES),
            },
            sentences: sentences as usize,
            max_facts: max_facts as usize,
            window_start: self.window_start,
            window_end: self.window_end,
            story_gap: Duration::hours(i64::from(gap)),
            clustering: cluster::ClusterParams::default(),
        })
    }
}
