//! Online story clustering. Articles arrive in time order; each joins the open story it is
//! most similar to, if that similarity clears a threshold, or starts a story of its own. A
//! story closes once the feed has moved `story_gap` past its latest article (or when too many
//! are open): its text and vectors are dropped and it is handed to [`story::Collector`], so
//! memory follows the articles of the time window, not the feed.
//!
//! Similarity combines three kinds of evidence, so that no single threshold on one of them
//! has to separate every pair of events:
//! - text: log-TF-IDF cosine with the story's centroid and with its closest recent member
//!   (the latter keeps a story that drifts as it develops, the former keeps it on topic);
//! - names: the share of the article's lead names (weighted by rarity in the feed) the story
//!   has named too: other outlets' write-ups of one event differ in wording, not in who and
//!   where;
//! - near-copies: a syndicated copy joins its original's story whatever else it says.
//!
//! Candidate stories are found through an inverted index of members' heaviest terms and of
//! their names, so an article is compared with a few stories, not all of them.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::{
    names::lead_names,
    near_copy::{CopyIndex, Signature},
    story::{ClosedStory, Collector, Member},
    terms::{add_counts, dot, Sparse, TermStats, ARTICLE_TERMS},
    Digest, DigestOptions, Rejected,
};
use crate::request::Article;

/// How clustering weighs its evidence. The defaults were chosen by leave-one-event-out on the
/// labelled dev stream (`examples/tune_digest.rs`, README "Digest"); the weights off by
/// default stay for experiments and other feeds (`tune_digest` measures each family).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterParams {
    /// Weight of the centroid cosine; the closest member's cosine gets the rest.
    pub centroid_weight: f32,
    /// Weight of the shared-names share.
    pub names_weight: f32,
    /// An article joins a story when the combined similarity reaches this.
    pub threshold: f32,
    /// The similarity is scaled by `1 / (1 + hours / time_scale_hours)`, hours between the
    /// article and the story's latest one: write-ups of one event come in a burst, while two
    /// stories on one topic (a player's two matches) are days apart. 0: no scaling.
    pub time_scale_hours: f32,
}

impl Default for ClusterParams {
    fn default() -> Self {
        // Leave-one-event-out on the dev stream (README "Digest"): text alone, half centroid
        // and half closest member, was the best family (mean held-out pairwise F1 96.9) and
        // chose 0.3 in four folds of five; names and time scaling joined stories on one
        // topic (a player's two matches) more than they rescued split events.
        ClusterParams {
            centroid_weight: 0.5,
            names_weight: 0.0,
            threshold: 0.3,
            time_scale_hours: 0.0,
        }
    }
}

/// The article's heaviest terms looked up in the story index.
const LOOKUP_TERMS: usize = 12;
/// Stories compared in full per article, those with the most index hits.
const MAX_CANDIDATES: usize = 48;
/// Members' vectors kept per story for the closest-member similarity.
const RECENT_MEMBERS: usize = 16;
/// Open stories at most; past it the stalest closes early.
const MAX_OPEN_STORIES: usize = 20_000;
/// Index entries are pruned of closed stories every this many articles.
const SWEEP_EVERY: u64 = 4096;

/// A story still taking articles.
struct OpenStory {
    closed: ClosedStory,
    recent: VecDeque<Sparse>,
    names: HashMap<u64, u32>,
    /// Keys of its members in the copy index.
    copy_keys: Vec<u64>,
}

/// Builds a digest from articles pushed one at a time in feed order.
pub struct Digester {
    options: DigestOptions,
    terms: TermStats,
    name_stats: TermStats,
    copies: CopyIndex,
    /// Copy-index key -> (story, the article's id, the id its copies point to).
    copy_home: HashMap<u64, (u64, String)>,
    open: HashMap<u64, OpenStory>,
    /// (latest article time, story) of every open story, stalest first.
    by_time: BTreeSet<(i64, u64)>,
    term_index: HashMap<u64, Vec<u64>>,
    name_index: HashMap<u64, Vec<u64>>,
    collector: Collector,
    clock: Option<DateTime<Utc>>,
    next_key: u64,
    next_story: u64,
    articles: usize,
    near_copies: usize,
    first_published: Option<DateTime<Utc>>,
    last_published: Option<DateTime<Utc>>,
    rejected: Vec<Rejected>,
    scratch: String,
}

impl Digester {
    pub fn new(options: DigestOptions) -> Digester {
        Digester {
            collector: Collector::new(options.max_stories),
            options,
            terms: TermStats::default(),
            name_stats: TermStats::default(),
            copies: CopyIndex::default(),
            copy_home: HashMap::new(),
            open: HashMap::new(),
            by_time: BTreeSet::new(),
            term_index: HashMap::new(),
            name_index: HashMap::new(),
            clock: None,
            next_key: 0,
            next_story: 0,
            articles: 0,
            near_copies: 0,
            first_published: None,
            last_published: None,
            rejected: Vec::new(),
            scratch: String::new(),
        }
    }

    /// Records an article the caller could not accept (invalid input), so that the digest
    /// lists it.
    pub fn reject(&mut self, rejected: Rejected) {
        self.rejected.push(rejected);
    }

    /// Open stories now: what memory follows.
    pub fn open_stories(&self) -> usize {
        self.open.len()
    }

    /// Adds the validated article at feed position `index`.
    pub fn push(&mut self, index: u64, article: Article) {
        if let Some(time) = article.published_at {
            let before = self.options.window_start.is_some_and(|start| time < start);
            let after = self.options.window_end.is_some_and(|end| time >= end);
            if before || after {
                self.rejected.push(Rejected {
                    index,
                    id: article.id,
                    code: "OUTSIDE_WINDOW".into(),
                    message: format!("published at {time}, outside the digest's time window"),
                });
                return;
            }
            self.first_published = Some(self.first_published.map_or(time, |t| t.min(time)));
            self.last_published = Some(self.last_published.map_or(time, |t| t.max(time)));
            self.clock = Some(self.clock.map_or(time, |t| t.max(time)));
        }
        self.articles += 1;
        // An undated article is taken to be as recent as the feed.
        let time = article.published_at.or(self.clock).map_or(0, |t| t.timestamp());
        self.close_older_than(time - self.options.story_gap.num_seconds());

        let mut counts = HashMap::new();
        // The headline names the story: it counts twice.
        add_counts(&article.title, 2.0, &mut self.scratch, &mut counts);
        add_counts(&article.body, 1.0, &mut self.scratch, &mut counts);
        self.terms.observe(counts.keys());
        let vector = self.terms.weigh(&counts, ARTICLE_TERMS);
        // Names cost a tagger run per article: only when they count.
        let names = if self.options.clustering.names_weight > 0.0 {
            lead_names(&article.body)
        } else {
            Vec::new()
        };
        self.name_stats.observe(names.iter());
        let signature = Signature::of(&article.body);

        let copy_of = signature
            .as_ref()
            .and_then(|s| self.copies.find(s))
            .and_then(|key| self.copy_home.get(&key).cloned())
            .filter(|(story, _)| self.open.contains_key(story));
        let key = self.next_key;
        self.next_key += 1;
        let (story, duplicate_of) = match copy_of {
            Some((story, root)) => {
                self.near_copies += 1;
                (story, Some(root))
            }
            None => match self.best_story(&vector, &names, time) {
                Some(story) => (story, None),
                None => (self.new_story(), None),
            },
        };
        // Copies of a copy point at the original.
        let root = duplicate_of.clone().unwrap_or_else(|| article.id.clone());
        if let Some(signature) = signature {
            self.copies.insert(key, signature);
            self.copy_home.insert(key, (story, root));
        }
        self.join(story, key, article, vector, names, duplicate_of, time);
        if self.next_key.is_multiple_of(SWEEP_EVERY) {
            self.sweep_indexes();
        }
        while self.open.len() > MAX_OPEN_STORIES {
            let Some(&(_, stalest)) = self.by_time.iter().next() else {
                break;
            };
            self.close(stalest);
        }
    }

    /// The open story this article belongs to, if any clears the threshold.
    fn best_story(&self, vector: &Sparse, names: &[u64], time: i64) -> Option<u64> {
        let mut hits: HashMap<u64, f32> = HashMap::new();
        let mut heaviest: Vec<&(u64, f32)> = vector.iter().collect();
        heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        for (term, weight) in heaviest.into_iter().take(LOOKUP_TERMS) {
            for story in self.term_index.get(term).into_iter().flatten() {
                *hits.entry(*story).or_insert(0.0) += weight;
            }
        }
        for name in names {
            for story in self.name_index.get(name).into_iter().flatten() {
                *hits.entry(*story).or_insert(0.0) += 0.1;
            }
        }
        let mut candidates: Vec<(u64, f32)> = hits.into_iter().filter(|(s, _)| self.open.contains_key(s)).collect();
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        candidates.truncate(MAX_CANDIDATES);
        let params = self.options.clustering;
        let name_weight: f32 = names.iter().map(|&n| self.name_stats.idf(n)).sum();
        candidates
            .into_iter()
            .map(|(id, _)| {
                let story = &self.open[&id];
                let centroid = story.closed.centroid.cosine(vector);
                let closest = story.recent.iter().map(|m| dot(vector, m)).fold(0.0f32, f32::max);
                let shared: f32 = names
                    .iter()
                    .filter(|n| story.names.contains_key(n))
                    .map(|&n| self.name_stats.idf(n))
                    .sum();
                let names_share = if name_weight > 0.0 { shared / name_weight } else { 0.0 };
                let similarity = params.centroid_weight * centroid
                    + (1.0 - params.centroid_weight) * closest
                    + params.names_weight * names_share;
                let hours = (time - story.closed.last_time).unsigned_abs() as f32 / 3600.0;
                let recency = if params.time_scale_hours > 0.0 {
                    1.0 / (1.0 + hours / params.time_scale_hours)
                } else {
                    1.0
                };
                (id, similarity * recency)
            })
            .filter(|&(_, s)| s >= params.threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(id, _)| id)
    }

    fn new_story(&mut self) -> u64 {
        let id = self.next_story;
        self.next_story += 1;
        self.open.insert(
            id,
            OpenStory {
                closed: ClosedStory::new(id),
                recent: VecDeque::new(),
                names: HashMap::new(),
                copy_keys: Vec::new(),
            },
        );
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        id: u64,
        key: u64,
        article: Article,
        vector: Sparse,
        names: Vec<u64>,
        duplicate_of: Option<String>,
        time: i64,
    ) {
        let story = self.open.get_mut(&id).expect("joining an open story");
        self.by_time.remove(&(story.closed.last_time, id));
        let mut heaviest: Vec<&(u64, f32)> = vector.iter().collect();
        heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        for (term, _) in heaviest.into_iter().take(LOOKUP_TERMS) {
            let list = self.term_index.entry(*term).or_default();
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
        for &name in &names {
            *story.names.entry(name).or_insert(0) += 1;
            let list = self.name_index.entry(name).or_default();
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
        // A copy adds nothing to the story's wording: it would only pull the centroid
        // towards one outlet's text.
        if duplicate_of.is_none() {
            story.closed.centroid.add(&vector);
            if story.recent.len() == RECENT_MEMBERS {
                story.recent.pop_front();
            }
            story.recent.push_back(vector.clone());
        }
        story.copy_keys.push(key);
        story.closed.add(Member::new(article, duplicate_of, time), vector);
        self.by_time.insert((story.closed.last_time, id));
    }

    fn close_older_than(&mut self, cutoff: i64) {
        while let Some(&(last, id)) = self.by_time.iter().next() {
            if last >= cutoff {
                break;
            }
            self.close(id);
        }
    }

    fn close(&mut self, id: u64) {
        let Some(story) = self.open.remove(&id) else { return };
        self.by_time.remove(&(story.closed.last_time, id));
        for key in &story.copy_keys {
            self.copies.remove(*key);
            self.copy_home.remove(key);
        }
        self.collector.add(story.closed, &self.terms, &self.options);
    }

    /// Drops closed stories from the index lists (lookups skip them anyway; this bounds the
    /// lists' memory).
    fn sweep_indexes(&mut self) {
        let open = &self.open;
        for index in [&mut self.term_index, &mut self.name_index] {
            index.retain(|_, stories| {
                stories.retain(|s| open.contains_key(s));
                !stories.is_empty()
            });
        }
    }

    /// Closes every story and returns the digest.
    pub fn finish(mut self) -> Digest {
        let ids: Vec<u64> = self.by_time.iter().map(|&(_, id)| id).collect();
        for id in ids {
            self.close(id);
        }
        debug_assert_eq!(self.copies.len(), 0);
        let end = self.clock.map_or(0, |t| t.timestamp());
        let stories_total = self.collector.total();
        Digest {
            title: self.options.title.clone(),
            first_published: self.first_published,
            last_published: self.last_published,
            articles: self.articles,
            stories_total,
            near_copies: self.near_copies,
            stories: self.collector.finish(end, &self.terms, &self.options),
            rejected: self.rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::digest::render::{render, Format};

    const BRIDGE: &str = "The city council voted on Tuesday to close the old harbour bridge in Kingsport for \
        repairs that will take two years. Engineers found cracks in three of the bridge's steel supports \
        during an inspection in March, council leader Maria Alvarez said. Traffic will be sent over the ring \
        road, adding about ten minutes to journeys into the centre of Kingsport.\n\nLocal shops fear the \
        closure will keep customers away during the busy summer months.";
    const BRIDGE_AGAIN: &str = "Kingsport's harbour bridge will shut for two years after engineers found cracked \
        steel supports, council leader Maria Alvarez announced on Tuesday. The council voted to close the \
        bridge for repairs; drivers face a detour over the ring road into the centre of Kingsport.";
    const FLOODS: &str = "Heavy rain flooded hundreds of homes in the Ardent valley overnight, and rescue crews \
        used boats to reach villagers stranded on rooftops. Forecasters warned that rivers would keep rising \
        until Thursday, and schools across the valley were closed.";

    fn article(id: &str, title: &str, body: &str, hour: u32) -> Article {
        Article {
            id: id.into(),
            title: title.into(),
            body: body.into(),
            url: format!("https://news{id}.example.com/{id}"),
            published_at: Some(Utc.with_ymd_and_hms(2024, 5, 7, hour, 0, 0).unwrap()),
            language: String::new(),
        }
    }

    fn all_stories() -> DigestOptions {
        DigestOptions {
            max_stories: None,
            ..DigestOptions::default()
        }
    }

    #[test]
    fn write_ups_of_one_event_are_one_story_and_a_copy_points_at_its_original() {
        let mut digester = Digester::new(all_stories());
        let copy = format!(
            "{}\n\n(Reporting by Wire Service)",
            BRIDGE.rsplit_once("\n\n").unwrap().0
        );
        digester.push(0, article("a", "Harbour bridge to close for two years", BRIDGE, 8));
        digester.push(1, article("b", "Floods hit Ardent valley", FLOODS, 9));
        digester.push(
            2,
            article("c", "Kingsport bridge shut after cracks found", BRIDGE_AGAIN, 10),
        );
        digester.push(3, article("d", "LATEST: bridge closure", &copy, 11));
        let digest = digester.finish();
        assert_eq!(digest.stories_total, 2);
        let bridge = &digest.stories[0];
        let ids: Vec<&str> = bridge.articles.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "d"], "the bigger story ranks first");
        assert_eq!(bridge.articles[2].duplicate_of.as_deref(), Some("a"));
        assert_eq!(digest.near_copies, 1);
        assert_eq!(bridge.score.distinct_sources, 2, "a copy is no extra source");
        assert!(
            bridge.summary.iter().all(|s| s.article_id != "d"),
            "copies are never summarised"
        );
        assert_eq!(bridge.sources.len(), 2);
        let texts: Vec<&str> = bridge.summary.iter().map(|s| s.text.as_str()).collect();
        let mut unique = texts.clone();
        unique.dedup();
        assert_eq!(unique.len(), texts.len());
        assert!(!bridge.key_facts.is_empty());
    }

    #[test]
    fn stories_close_after_their_gap_and_only_the_best_are_kept() {
        let mut digester = Digester::new(DigestOptions {
            max_stories: Some(1),
            story_gap: chrono::Duration::hours(1),
            ..DigestOptions::default()
        });
        digester.push(0, article("a", "Harbour bridge to close", BRIDGE, 1));
        // Far past the gap: this one cannot join the story of "a", which has closed.
        digester.push(1, article("c", "Kingsport bridge shut", BRIDGE_AGAIN, 9));
        assert_eq!(digester.open_stories(), 1);
        digester.push(2, article("b", "Floods", FLOODS, 10));
        let digest = digester.finish();
        assert_eq!(digest.stories_total, 3);
        assert_eq!(digest.stories.len(), 1);
        assert_eq!(digest.stories[0].articles[0].id, "b", "the most recent single story");
    }

    #[test]
    fn articles_outside_the_window_are_listed_as_rejected() {
        let mut digester = Digester::new(DigestOptions {
            window_start: Some(Utc.with_ymd_and_hms(2024, 5, 7, 9, 0, 0).unwrap()),
            ..all_stories()
        });
        digester.push(0, article("early", "Bridge", BRIDGE, 8));
        digester.push(1, article("b", "Floods", FLOODS, 10));
        let digest = digester.finish();
        assert_eq!(digest.articles, 1);
        assert_eq!(digest.rejected[0].id, "early");
        assert_eq!(digest.rejected[0].code, "OUTSIDE_WINDOW");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_feed_is_digested_whole(feed in proptest::collection::vec(("\\PC{0,30}", "\\PC{0,300}", proptest::option::of(0i64..400_000)), 0..20)) {
            let mut digester = Digester::new(DigestOptions { max_facts: 2, ..all_stories() });
            for (i, (title, body, seconds)) in feed.iter().enumerate() {
                digester.push(i as u64, Article {
                    id: i.to_string(),
                    title: title.clone(),
                    body: body.clone(),
                    published_at: seconds.map(|s| Utc.timestamp_opt(s, 0).unwrap()),
                    ..Article::default()
                });
            }
            let digest = digester.finish();
            let mut ids: Vec<usize> = digest.stories.iter().flat_map(|s| &s.articles).map(|a| a.id.parse().unwrap()).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..feed.len()).collect::<Vec<_>>());
            for story in &digest.stories {
                for sentence in &story.summary {
                    let body = &feed[sentence.article_id.parse::<usize>().unwrap()].1;
                    let chars = body.chars().count() as u32;
                    prop_assert!(sentence.location.start <= sentence.location.end && sentence.location.end <= chars);
                }
                prop_assert!(story.score.value.is_finite() && story.score.value >= 0.0);
            }
            for format in [Format::Json, Format::Html, Format::Markdown, Format::Text] {
                prop_assert!(render(&digest, format, None).is_ok());
            }
        }
    }
}
