//! Weighted term vectors for story clustering: the summariser's content words (stemmed,
//! stopwords dropped), weighted by log term frequency times an inverse document frequency
//! learnt online from the feed itself, so no corpus ships with the binary and a feed about
//! anything weighs its own common words down.

use std::collections::HashMap;

use super::background::BackgroundDf;
pub(super) use crate::summarize::extractive::sparse_dot as dot;
use crate::summarize::extractive::{for_each_content_stem, unit};

/// A sparse vector: (term, weight) sorted by term.
pub(super) type Sparse = Vec<(u64, f32)>;

/// Terms kept per article vector: the heaviest ones carry the topic; the tail is noise that
/// costs time in every comparison.
pub(super) const ARTICLE_TERMS: usize = 120;

/// FNV-1a: term ids are hashes, so the vocabulary needs no table of its own.
pub(super) fn hash_str(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Raw counts of the content terms of `text`, each occurrence counted `weight` times,
/// added to `counts`.
pub(super) fn add_counts(text: &str, weight: f32, scratch: &mut String, counts: &mut HashMap<u64, f32>) {
    for_each_content_stem(text, scratch, |stem| {
        *counts.entry(hash_str(stem)).or_insert(0.0) += weight;
    });
}

/// Document frequencies of the feed so far.
#[derive(Debug, Default)]
pub(super) struct TermStats {
    docs: u32,
    df: HashMap<u64, u32>,
}

impl TermStats {
    /// Counts one more document with these terms.
    pub(super) fn observe<'a>(&mut self, terms: impl Iterator<Item = &'a u64>) {
        self.docs += 1;
        for t in terms {
            *self.df.entry(*t).or_insert(0) += 1;
        }
    }

    /// Smoothed inverse document frequency over the feed and the background corpus
    /// ([`BackgroundDf`]); a term never seen gets the highest.
    pub(super) fn idf(&self, term: u64) -> f32 {
        let background = BackgroundDf::embedded();
        let df = self.df.get(&term).copied().unwrap_or(0) + background.df(term);
        let docs = self.docs + background.documents();
        ((1.0 + docs as f32) / (1.0 + df as f32)).ln() + 1.0
    }

    /// Unit-length log-TF-IDF vector of `counts`, its `keep` heaviest terms, sorted by term.
    pub(super) fn weigh(&self, counts: &HashMap<u64, f32>, keep: usize) -> Sparse {
        let mut v: Sparse = counts
            .iter()
            .map(|(&t, &n)| (t, (1.0 + n.ln()) * self.idf(t)))
            .collect();
        if v.len() > keep {
            // Ties broken by term, so that the same text always keeps the same terms.
            v.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(keep);
        }
        v.sort_unstable_by_key(|&(t, _)| t);
        unit(v.into_iter())
    }
}

/// The sum of member vectors of a story, with its squared norm kept up to date.
#[derive(Debug, Default, Clone)]
pub(super) struct Centroid {
    weights: HashMap<u64, f32>,
    norm_sq: f32,
}

impl Centroid {
    pub(super) fn add(&mut self, v: &[(u64, f32)]) {
        // |c + v|^2 = |c|^2 + 2 c.v + |v|^2
        let mut cross = 0.0;
        let mut own = 0.0;
        for &(t, w) in v {
            let c = self.weights.entry(t).or_insert(0.0);
            cross += *c * w;
            own += w * w;
            *c += w;
        }
        self.norm_sq = (self.norm_sq + 2.0 * cross + own).max(0.0);
    }

    /// Cosine of a unit vector with the centroid.
    pub(super) fn cosine(&self, v: &[(u64, f32)]) -> f32 {
        if self.norm_sq <= 0.0 {
            return 0.0;
        }
        let d: f32 = v.iter().filter_map(|(t, w)| self.weights.get(t).map(|c| c * w)).sum();
        d / self.norm_sq.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(stats: &TermStats, text: &str) -> Sparse {
        let mut counts = HashMap::new();
        add_counts(text, 1.0, &mut String::new(), &mut counts);
        stats.weigh(&counts, ARTICLE_TERMS)
    }

    #[test]
    fn the_same_words_are_similar_and_other_words_are_not() {
        let stats = TermStats::default();
        let a = vector(&stats, "The mayor opened the bridge over the river.");
        let b = vector(&stats, "A bridge over the river was opened by the mayor.");
        let c = vector(&stats, "Quarterly profits at the bank fell sharply.");
        assert!(dot(&a, &b) > 0.9, "{}", dot(&a, &b));
        assert!(dot(&a, &c).abs() < 1e-6);
        let mut centroid = Centroid::default();
        centroid.add(&a);
        centroid.add(&b);
        assert!(centroid.cosine(&a) > 0.9 && centroid.cosine(&c).abs() < 1e-6);
    }

    #[test]
    fn a_word_every_document_has_weighs_less_than_a_rare_one() {
        let mut stats = TermStats::default();
        for text in ["markets rose", "markets fell", "markets rallied on bank news"] {
            let mut counts = HashMap::new();
            add_counts(text, 1.0, &mut String::new(), &mut counts);
            stats.observe(counts.keys());
        }
        let term = |word: &str| {
            let mut counts = HashMap::new();
            add_counts(word, 1.0, &mut String::new(), &mut counts);
            *counts.keys().next().expect("a content word")
        };
        assert!(stats.idf(term("markets")) < stats.idf(term("bank")));
    }
}
