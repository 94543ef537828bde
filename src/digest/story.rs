//! A closed story made presentable: its summary across articles, headline, merged key facts,
//! sources and ranking score; and the collector that keeps the best stories of a feed.

use std::{cmp::Ordering, collections::BinaryHeap, collections::HashMap, ops::Range};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    terms::{add_counts, dot, Centroid, Sparse, TermStats},
    DigestOptions,
};
use crate::{
    facts,
    request::{Article, SummaryLength},
    response::{AbstractiveSummary, Field, KeyFact, Location},
    summarize::extractive::{self, Document, RankMode},
};

/// Articles per story kept with their text (for the summary and key facts): a story's first
/// write-ups carry its substance; later ones are listed but not re-read.
const TEXT_MEMBERS: usize = 12;
/// Articles whose key facts are extracted and merged, the most central first.
const FACT_ARTICLES: usize = 3;
/// Two summary sentences closer than this (TF-IDF cosine) say the same thing.
const REDUNDANT: f32 = 0.5;
/// A story's recency halves every this many seconds before the latest article of the feed.
const HALF_LIFE_SECS: f64 = 24.0 * 3600.0;

/// An article of a story, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct StoryArticle {
    pub id: String,
    pub title: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// The article this one is a near-copy of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// One member while the story is being built.
pub(super) struct Member {
    listed: StoryArticle,
    article: Option<Article>,
    time: i64,
}

impl Member {
    pub(super) fn new(article: Article, duplicate_of: Option<String>, time: i64) -> Member {
        Member {
            listed: StoryArticle {
                id: article.id.clone(),
                title: article.title.clone(),
                url: article.url.clone(),
                published_at: article.published_at,
                duplicate_of,
            },
            article: Some(article),
            time,
        }
    }
}

/// A story's members and centroid, open or closed.
pub(super) struct ClosedStory {
    id: u64,
    members: Vec<Member>,
    /// Vectors of the members kept with their text, by member index.
    vectors: Vec<(usize, Sparse)>,
    pub(super) centroid: Centroid,
    pub(super) last_time: i64,
}

impl ClosedStory {
    pub(super) fn new(id: u64) -> ClosedStory {
        ClosedStory {
            id,
            members: Vec::new(),
            vectors: Vec::new(),
            centroid: Centroid::default(),
            last_time: i64::MIN,
        }
    }

    pub(super) fn add(&mut self, mut member: Member, vector: Sparse) {
        self.last_time = self.last_time.max(member.time);
        let keep = member.listed.duplicate_of.is_none() && self.vectors.len() < TEXT_MEMBERS;
        if keep {
            self.vectors.push((self.members.len(), vector));
        } else {
            member.article = None;
        }
        self.members.push(member);
    }

    /// Independent sources: the hosts of the non-copy articles' URLs; an article without a
    /// URL counts as a source of its own. Copies are syndication, not corroboration.
    fn distinct_sources(&self) -> usize {
        let mut hosts: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.listed.duplicate_of.is_none())
            .map(|m| host(&m.listed.url).unwrap_or_else(|| format!("article:{}", m.listed.id)))
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts.len().max(1)
    }

    /// Mean cosine of the kept members with the centroid: how tightly they agree.
    fn centrality(&self) -> f64 {
        if self.vectors.is_empty() {
            return 0.0;
        }
        let sum: f32 = self.vectors.iter().map(|(_, v)| self.centroid.cosine(v)).sum();
        f64::from(sum / self.vectors.len() as f32)
    }

    /// Everything of the score but recency; a story's rank against another never changes
    /// as the feed goes on, since recency scales every story alike.
    fn mass(&self) -> f64 {
        let size = self.members.len() as f64;
        (1.0 + size.ln()) * (1.0 + (self.distinct_sources() as f64).ln()) * (0.5 + 0.5 * self.centrality())
    }

    /// log(score) up to a constant of the feed: orders stories without knowing its end.
    fn order_key(&self) -> f64 {
        self.mass().ln() + self.last_time as f64 * std::f64::consts::LN_2 / HALF_LIFE_SECS
    }
}

/// The host of an http(s) URL, without `www.`.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?.trim_start_matches("www.").to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// A story of the digest.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    /// 1-based rank in the digest.
    pub rank: usize,
    pub id: String,
    pub headline: String,
    /// The article whose title is the headline.
    pub headline_article_id: String,
    /// Central sentences across the story's articles, best first, none saying what another
    /// says; each names the article and the offsets it came from.
    pub summary: Vec<SummarySentence>,
    /// Set by the service when an abstractive summary was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abstractive: Option<AbstractiveSummary>,
    pub key_facts: Vec<MergedFact>,
    /// One linked article per outlet.
    pub sources: Vec<Source>,
    pub articles: Vec<StoryArticle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_published: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_published: Option<DateTime<Utc>>,
    pub score: Score,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummarySentence {
    pub text: String,
    pub article_id: String,
    /// Code point offsets into that article's body, as everywhere in the API.
    pub location: Location,
    pub score: f32,
}

/// A key fact found in one or more of the story's articles.
#[derive(Debug, Clone, Serialize)]
pub struct MergedFact {
    /// The article the offsets point into.
    pub article_id: String,
    /// Its `confidence` is raised by agreement: 1 - prod(1 - c) over the agreeing articles.
    #[serde(flatten)]
    pub fact: KeyFact,
    /// Articles stating the same who, when and where.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The outlet: the URL's host.
    pub name: String,
    pub url: String,
    pub article_id: String,
    pub title: String,
}

/// Why a story ranks where it does: `value = size_factor * source_factor *
/// centrality_factor * recency`.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub value: f64,
    pub articles: usize,
    pub distinct_sources: usize,
    /// Mean cosine of its articles with the story's centroid (1: all say the same).
    pub centrality: f64,
    /// 0.5 per day between its latest article and the feed's.
    pub recency: f64,
    pub size_factor: f64,
    pub source_factor: f64,
    pub centrality_factor: f64,
    pub explanation: String,
}

/// A closed story waiting for its rank.
struct Ranked {
    key: f64,
    story: ClosedStory,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// Reversed, so that the heap's top is the weakest story; earlier stories win ties.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.total_cmp(&self.key).then(self.story.id.cmp(&other.story.id))
    }
}

/// Keeps the closed stories a digest will show: the best `limit` (text and all, a bounded
/// number), or every story (each made presentable as it closes, its text then dropped).
pub(super) struct Collector {
    limit: Option<usize>,
    best: BinaryHeap<Ranked>,
    done: Vec<(f64, Story)>,
    total: usize,
}

impl Collector {
    pub(super) fn new(limit: Option<usize>) -> Collector {
        Collector {
            limit,
            best: BinaryHeap::new(),
            done: Vec::new(),
            total: 0,
        }
    }

    pub(super) fn total(&self) -> usize {
        self.total
    }

    pub(super) fn add(&mut self, story: ClosedStory, terms: &TermStats, options: &DigestOptions) {
        self.total += 1;
        let key = story.order_key();
        match self.limit {
            None => {
                let presented = present(&story, terms, options);
                self.done.push((key, presented));
            }
            Some(0) => {}
            Some(limit) => {
                self.best.push(Ranked { key, story });
                if self.best.len() > limit {
                    self.best.pop();
                }
            }
        }
    }

    /// The stories, best first, scored against the feed's latest time `end`.
    pub(super) fn finish(mut self, end: i64, terms: &TermStats, options: &DigestOptions) -> Vec<Story> {
        let mut stories: Vec<(f64, Story)> = std::mem::take(&mut self.done);
        stories.extend(
            self.best
                .into_sorted_vec()
                .into_iter()
                .map(|r| (r.key, present(&r.story, terms, options))),
        );
        stories.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        stories
            .into_iter()
            .enumerate()
            .map(|(i, (_, mut story))| {
                story.rank = i + 1;
                finish_score(&mut story.score, end, story.last_published);
                story
            })
            .collect()
    }
}

fn finish_score(score: &mut Score, end: i64, last: Option<DateTime<Utc>>) {
    let age = last.map_or(0.0, |t| (end - t.timestamp()).max(0) as f64);
    score.recency = 0.5f64.powf(age / HALF_LIFE_SECS);
    score.value = score.size_factor * score.source_factor * score.centrality_factor * score.recency;
    score.explanation = format!(
        "{:.3} = size {:.3} (1 + ln {} articles) x sources {:.3} (1 + ln {} distinct) x centrality {:.3} (0.5 + 0.5 x {:.3}) x recency {:.3} (halves per day before the feed's latest article)",
        score.value,
        score.size_factor,
        score.articles,
        score.source_factor,
        score.distinct_sources,
        score.centrality_factor,
        score.centrality,
        score.recency
    );
}

/// The presentable form of a closed story (score without recency, set at the end).
fn present(story: &ClosedStory, terms: &TermStats, options: &DigestOptions) -> Story {
    // Kept members, most central first.
    let mut central: Vec<(&Article, &Sparse, f32)> = story
        .vectors
        .iter()
        .filter_map(|(i, v)| {
            story.members[*i]
                .article
                .as_ref()
                .map(|a| (a, v, story.centroid.cosine(v)))
        })
        .collect();
    central.sort_by(|a, b| b.2.total_cmp(&a.2));
    let summary = summarise(&central, &story.centroid, terms, options.sentences);
    let first = story.members.first().map(|m| m.listed.clone());
    let (headline, headline_article_id) = central
        .iter()
        .find(|(a, _, _)| !a.title.trim().is_empty())
        .map(|(a, _, _)| (a.title.trim().to_string(), a.id.clone()))
        .or_else(|| summary.first().map(|s| (s.text.clone(), s.article_id.clone())))
        .unwrap_or_else(|| first.map(|m| (m.id.clone(), m.id)).unwrap_or_default());
    let key_facts = if options.max_facts > 0 {
        merged_facts(&central, options.max_facts)
    } else {
        Vec::new()
    };
    let mut sources: Vec<Source> = Vec::new();
    for m in story.members.iter().filter(|m| m.listed.duplicate_of.is_none()) {
        if let Some(name) = host(&m.listed.url) {
            if !sources.iter().any(|s| s.name == name) {
                sources.push(Source {
                    name,
                    url: m.listed.url.clone(),
                    article_id: m.listed.id.clone(),
                    title: m.listed.title.clone(),
                });
            }
        }
    }
    let times = story.members.iter().filter_map(|m| m.listed.published_at);
    let articles = story.members.len();
    let distinct_sources = story.distinct_sources();
    let centrality = story.centrality();
    Story {
        rank: 0,
        id: format!("story-{}", story.id + 1),
        headline,
        headline_article_id,
        summary,
        abstractive: None,
        key_facts,
        sources,
        articles: story.members.iter().map(|m| m.listed.clone()).collect(),
        first_published: times.clone().min(),
        last_published: times.max(),
        score: Score {
            value: 0.0,
            articles,
            distinct_sources,
            centrality,
            recency: 1.0,
            size_factor: 1.0 + (articles as f64).ln(),
            source_factor: 1.0 + (distinct_sources as f64).ln(),
            centrality_factor: 0.5 + 0.5 * centrality,
            explanation: String::new(),
        },
    }
}

/// Multi-document extractive summary: each article's own best sentences (the single-article
/// ranker), re-scored by how central they are to the whole story and by how central their
/// article is, then taken best first, skipping any that repeats a sentence already taken.
fn summarise(
    central: &[(&Article, &Sparse, f32)],
    centroid: &Centroid,
    terms: &TermStats,
    sentences: usize,
) -> Vec<SummarySentence> {
    struct Candidate<'a> {
        article: &'a Article,
        range: Range<usize>,
        vector: Sparse,
        score: f32,
    }
    let mut scratch = String::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (article, _, article_centrality) in central {
        let title = Some(article.title.as_str()).filter(|t| !t.trim().is_empty());
        let doc = Document::new(title, &article.body);
        let mut picks = extractive::select(&doc, SummaryLength::Sentences(sentences), RankMode::Lexical);
        picks.sort_by(|a, b| b.score.total_cmp(&a.score));
        for (rank, pick) in picks.into_iter().enumerate() {
            let mut counts = HashMap::new();
            add_counts(&article.body[pick.range.clone()], 1.0, &mut scratch, &mut counts);
            let vector = terms.weigh(&counts, usize::MAX);
            let score = centroid.cosine(&vector) * (0.5 + 0.5 * article_centrality) + 0.2 / (1.0 + rank as f32);
            candidates.push(Candidate {
                article,
                range: pick.range,
                vector,
                score,
            });
        }
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut chosen: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if chosen.len() == sentences {
            break;
        }
        let text = candidate.article.body[candidate.range.clone()].trim();
        let repeats = chosen
            .iter()
            .any(|c| dot(&c.vector, &candidate.vector) >= REDUNDANT || c.article.body[c.range.clone()].trim() == text);
        if !repeats {
            chosen.push(candidate);
        }
    }
    chosen
        .into_iter()
        .map(|c| SummarySentence {
            text: c.article.body[c.range.clone()].trim().to_string(),
            article_id: c.article.id.clone(),
            location: Location::of(Field::Body, &c.article.body, &c.range),
            score: c.score,
        })
        .collect()
}

/// Key facts of the most central articles, the same who/when/where merged: agreement among
/// articles raises a fact's confidence.
fn merged_facts(central: &[(&Article, &Sparse, f32)], max: usize) -> Vec<MergedFact> {
    let mut merged: Vec<(String, MergedFact)> = Vec::new();
    for (article, _, _) in central.iter().take(FACT_ARTICLES) {
        let anchor = article.published_at.unwrap_or_default().naive_utc();
        for fact in facts::extract(article, anchor, max) {
            let part = |f: &Option<crate::response::FactField>| {
                f.as_ref()
                    .map(|f| f.normalized.clone().unwrap_or_else(|| f.text.to_lowercase()))
                    .unwrap_or_default()
            };
            let key = format!("{}|{}|{}", part(&fact.who), part(&fact.when), part(&fact.where_));
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some((_, m)) if !m.sources.contains(&article.id) => {
                    m.fact.confidence = 1.0 - (1.0 - m.fact.confidence) * (1.0 - fact.confidence);
                    m.sources.push(article.id.clone());
                }
                Some(_) => {}
                None => merged.push((
                    key,
                    MergedFact {
                        article_id: article.id.clone(),
                        fact,
                        sources: vec![article.id.clone()],
                    },
                )),
            }
        }
    }
    let mut facts: Vec<MergedFact> = merged.into_iter().map(|(_, m)| m).collect();
    facts.sort_by(|a, b| {
        b.sources
            .len()
            .cmp(&a.sources.len())
            .then(b.fact.confidence.total_cmp(&a.fact.confidence))
    });
    facts.truncate(max);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(host("https://www.bbc.co.uk/news/1").as_deref(), Some("bbc.co.uk"));
        assert_eq!(host("http://user@Example.com:8080/a?b").as_deref(), Some("example.com"));
        assert_eq!(host(""), None);
    }
}
