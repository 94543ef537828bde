//! Unsupervised extractive summarisation for news.
//!
//! Two steps, so a caller can compute sentence embeddings in between:
//!
//! 1. [`Document::new`] segments the body, drops boilerplate (navigation,
//!    share bars, bylines) and tokenises the remaining candidate sentences.
//!    [`Document::candidate_texts`] exposes them for embedding.
//! 2. [`select`] ranks the candidates and returns the chosen sentences in
//!    document order.
//!
//! Ranking follows PacSum (Zheng & Lapata, 2019): a sentence is central when
//! it is similar to the sentences *after* it, since news states a point and
//! then elaborates it, while similarity to earlier sentences marks repetition.
//! On top of that: a position prior (the inverted pyramid) scaled by how
//! central the opening sentence is, similarity to the title when one is
//! given, and maximal marginal relevance (MMR) so the summary does not say
//! the same thing twice. An opening sentence that the rest of the article
//! barely echoes is a feature's hook rather than a news lead and loses its
//! place, and run-on "sentences" (captions glued together by a scraper)
//! lose salience in proportion to their excess length. A summary that keeps
//! a large share of the article
//! ([`SummaryLength::Ratio`]) is ranked as a digest instead: undirected
//! centrality, no position prior, so it covers the whole body (see
//! [`Config`]).
//!
//! Similarity is TF-IDF cosine over stemmed content words
//! ([`RankMode::Lexical`]), embedding cosine above the article's mean
//! ([`RankMode::Semantic`]), or the mean of both ([`RankMode::Hybrid`]); the
//! title is always compared lexically.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::LazyLock;

use crate::request::SummaryLength;
use crate::text::clean::classify_sentences;
use crate::text::segment::split_sentences;

/// Which sentence similarity drives the ranking.
#[derive(Debug, Clone, Copy)]
pub enum RankMode<'a> {
    /// TF-IDF cosine over stemmed content words; needs no model.
    Lexical,
    /// Cosine of sentence embeddings, one per candidate sentence in the order
    /// of [`Document::candidate_texts`]. Any length works; vectors are
    /// normalised here and non-finite components count as zero.
    Semantic(&'a [Vec<f32>]),
    /// Mean of the lexical and the embedding similarity.
    Hybrid(&'a [Vec<f32>]),
}

/// One sentence chosen for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedSentence {
    /// Byte range into the body passed to [`Document::new`].
    pub range: Range<usize>,
    /// The ranking score that chose it (higher is more salient); finite.
    pub score: f32,
}

/// Ranking weights. [`Config::default`] is what [`select`] uses; the fields
/// are public so experiments can switch single components off.
///
/// A summary is ranked as a blend of two views, weighted by how much of the
/// article it keeps (see [`Config::digest_ratio`]):
/// - the *gist* (a few sentences): PacSum's directed centrality, a position
///   prior for the inverted pyramid and similarity to the title;
/// - the *digest* (a large share of the article): undirected centrality, so
///   the summary covers the whole body rather than its opening.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Weight of similarity to *earlier* sentences in the gist centrality,
    /// relative to later ones (weight 1). PacSum's negative value marks
    /// sentences that repeat what came before as less central.
    pub backward: f32,
    /// Weight of the gist position prior `(1 + index)^-position_decay`.
    pub position: f32,
    /// How fast the position prior decays with the sentence index.
    pub position_decay: f32,
    /// Scale the position prior by how central the first sentence is: text
    /// whose opening is not its lead (a pasted fragment, a feature's hook)
    /// should not be summarised by its first lines.
    pub lead_confidence: bool,
    /// Weight of similarity to the title in the gist (when there is one).
    pub title: f32,
    /// MMR penalty on similarity to sentences already chosen.
    pub redundancy: f32,
    /// A [`SummaryLength::Ratio`] at or above this share of the article is
    /// ranked purely as a digest; smaller ratios blend in proportion, and a
    /// sentence count is a gist. 0 ranks every summary as a gist.
    pub digest_ratio: f32,
    /// Sentences longer than this many words have their salience scaled by
    /// `long_words / words`: a summary slot is worth about one reference
    /// sentence, and longer "sentences" are mostly run-ons or captions glued
    /// together without punctuation. 0 disables.
    pub long_words: f32,
    /// Below this lead confidence (the opening sentence's centrality,
    /// 0..=1) the opening's gist salience is scaled down in proportion: a
    /// hook (`These incredible photos are ...`) is not the lead. Needs
    /// [`Config::lead_confidence`]; 0 disables.
    pub hook_confidence: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backward: -1.0,
            position: 3.0,
            position_decay: 0.5,
            lead_confidence: true,
            title: 1.0,
            redundancy: 0.5,
            digest_ratio: 1.0 / 3.0,
            long_words: 50.0,
            hook_confidence: 0.4,
        }
    }
}

/// Documents longer than this are ranked on their first `MAX_RANKED`
/// candidates only: similarity is quadratic and news leads with its point.
const MAX_RANKED: usize = 400;

/// An article prepared for ranking: built once, then passed to [`select`]
/// with any length or mode.
#[derive(Debug, Clone)]
pub struct Document {
    body: String,
    /// Content range of each candidate sentence, in document order.
    candidates: Vec<Range<usize>>,
    /// Unit-length TF-IDF vector of each candidate, sorted by term id.
    vectors: Vec<Vec<(u32, f32)>>,
    /// Unit-length TF-IDF vector of the title (empty when there is none).
    title: Vec<(u32, f32)>,
    /// Sentences dropped as boilerplate.
    boilerplate: Vec<Range<usize>>,
    /// Number of words (stopwords included) in each candidate.
    words: Vec<usize>,
}

impl Document {
    /// Segments, cleans and tokenises `body`; `title` (when known) steers the
    /// ranking towards the headline's topic.
    pub fn new(title: Option<&str>, body: &str) -> Self {
        let sentences = split_sentences(body);
        let mut candidates = Vec::with_capacity(sentences.len());
        let mut boilerplate = Vec::new();
        for (range, verdict) in sentences.iter().zip(classify_sentences(body, &sentences)) {
            if verdict.is_content() {
                candidates.push(verdict.content);
            } else {
                boilerplate.push(range.clone());
            }
        }
        let mut vocab = Vocabulary::with_capacity(body.len() / 8);
        let (counts, words): (Vec<Vec<(u32, f32)>>, Vec<usize>) =
            candidates.iter().map(|r| vocab.term_counts(&body[r.clone()])).unzip();
        let title_counts = title.map(|t| vocab.term_counts(t).0).unwrap_or_default();
        let idf = inverse_document_frequency(&counts, vocab.len());
        let weigh = |c: &[(u32, f32)]| unit(c.iter().map(|&(t, n)| (t, n * idf[t as usize])));
        Document {
            vectors: counts.iter().map(|c| weigh(c)).collect(),
            title: weigh(&title_counts),
            body: body.to_owned(),
            candidates,
            boilerplate,
            words,
        }
    }

    /// The candidate sentences (boilerplate removed), in document order; the
    /// order embeddings passed to [`RankMode`] must follow.
    pub fn candidate_texts(&self) -> Vec<&str> {
        self.candidates.iter().map(|r| &self.body[r.clone()]).collect()
    }

    /// Byte ranges of the candidate sentences in the body.
    pub fn candidate_ranges(&self) -> &[Range<usize>] {
        &self.candidates
    }

    /// Byte ranges of the sentences judged boilerplate.
    pub fn boilerplate_ranges(&self) -> &[Range<usize>] {
        &self.boilerplate
    }

    /// Number of candidate sentences: the base of [`SummaryLength::Ratio`].
    pub fn sentence_count(&self) -> usize {
        self.candidates.len()
    }

    /// The body the document was built from.
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// Selects summary sentences with the default [`Config`].
pub fn select(doc: &Document, length: SummaryLength, mode: RankMode) -> Vec<ExtractedSentence> {
    select_with(doc, length, mode, &Config::default())
}

/// Selects summary sentences, returned in document order.
///
/// Never panics: an empty document gives an empty summary, a length beyond
/// the document gives every sentence, and embeddings whose count does not
/// match the candidates (or that are empty) make the ranking fall back to
/// lexical similarity.
pub fn select_with(doc: &Document, length: SummaryLength, mode: RankMode, config: &Config) -> Vec<ExtractedSentence> {
    let n = doc.sentence_count();
    let k = summary_size(length, n);
    if k == 0 {
        return Vec::new();
    }
    let ranked = n.min(MAX_RANKED);
    let sim = similarity_matrix(doc, ranked, mode);
    let salience = salience(doc, &sim, ranked, digest_weight(length, config), config);

    // Maximal marginal relevance: each pick is penalised by its closest
    // match among the sentences already chosen.
    let mut chosen: Vec<(usize, f32)> = Vec::with_capacity(k);
    let mut taken = vec![false; ranked];
    let mut max_overlap = vec![0.0f32; ranked];
    while chosen.len() < k.min(ranked) {
        let mut best: Option<(usize, f32)> = None;
        for i in (0..ranked).filter(|&i| !taken[i]) {
            let score = salience[i] - config.redundancy * max_overlap[i];
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        let Some((pick, _)) = best else { break };
        taken[pick] = true;
        chosen.push((pick, salience[pick]));
        for (overlap, s) in max_overlap.iter_mut().zip(&sim[pick * ranked..(pick + 1) * ranked]) {
            *overlap = overlap.max(*s);
        }
    }
    // Beyond the ranked window sentences have no salience; fill in order.
    let missing = k - chosen.len();
    chosen.extend((ranked..n).take(missing).map(|i| (i, 0.0)));
    chosen.sort_unstable_by_key(|&(i, _)| i);
    chosen
        .into_iter()
        .map(|(i, score)| ExtractedSentence {
            range: doc.candidates[i].clone(),
            score: if score.is_finite() { score } else { 0.0 },
        })
        .collect()
}

fn summary_size(length: SummaryLength, n: usize) -> usize {
    let k = match length {
        SummaryLength::Sentences(k) => k,
        SummaryLength::Ratio(r) if r.is_finite() && r > 0.0 => ((r.min(1.0) * n as f32).round() as usize).max(1),
        SummaryLength::Ratio(_) => 1,
    };
    k.min(n)
}

/// How far the summary is a digest of the whole article (1) rather than its
/// gist (0). A proportional length asks for a condensed article, which must
/// cover the body; a sentence count asks for the gist, which news puts first.
fn digest_weight(length: SummaryLength, config: &Config) -> f32 {
    match length {
        SummaryLength::Ratio(r) if config.digest_ratio > 0.0 && r.is_finite() => {
            (r / config.digest_ratio).clamp(0.0, 1.0)
        }
        _ => 0.0,
    }
}

/// Row-major `ranked x ranked` sentence similarity, non-negative, zero on
/// the diagonal.
fn similarity_matrix(doc: &Document, ranked: usize, mode: RankMode) -> Vec<f32> {
    let usable = |e: &[Vec<f32>]| e.len() == doc.sentence_count() && e.iter().all(|v| !v.is_empty());
    let embeddings = match mode {
        RankMode::Semantic(e) | RankMode::Hybrid(e) if usable(e) => Some(normalised(&e[..ranked])),
        _ => None,
    };
    let lexical = !matches!(mode, RankMode::Semantic(_)) || embeddings.is_none();
    let mut sim = vec![0.0f32; ranked * ranked];
    let mut parts = 0.0;
    if lexical {
        parts += 1.0;
        for i in 0..ranked {
            for j in i + 1..ranked {
                sim[i * ranked + j] = sparse_dot(&doc.vectors[i], &doc.vectors[j]);
            }
        }
    }
    if let Some(e) = &embeddings {
        parts += 1.0;
        let dense: Vec<(usize, usize, f32)> = (0..ranked)
            .flat_map(|i| (i + 1..ranked).map(move |j| (i, j)))
            .map(|(i, j)| (i, j, dense_dot(&e[i], &e[j])))
            .collect();
        // Sentence embeddings of one article are all alike to some degree;
        // only similarity above the article's mean is evidence of a shared
        // point (the role of PacSum's edge threshold).
        let mean = dense.iter().map(|d| d.2).sum::<f32>() / dense.len().max(1) as f32;
        for (i, j, s) in dense {
            sim[i * ranked + j] += (s - mean).max(0.0);
        }
    }
    for i in 0..ranked {
        for j in i + 1..ranked {
            let s = sim[i * ranked + j] / parts;
            let s = if s.is_finite() { s } else { 0.0 };
            sim[i * ranked + j] = s;
            sim[j * ranked + i] = s;
        }
    }
    sim
}

/// Salience of each ranked sentence before redundancy control: a blend of
/// the gist and digest views (see [`Config`]), weighted by `digest`.
fn salience(doc: &Document, sim: &[f32], ranked: usize, digest: f32, config: &Config) -> Vec<f32> {
    let row = |i: usize| &sim[i * ranked..(i + 1) * ranked];
    let directed: Vec<f32> = (0..ranked)
        .map(|i| {
            let later: f32 = row(i)[i + 1..].iter().sum();
            let earlier: f32 = row(i)[..i].iter().sum();
            later + config.backward * earlier
        })
        .collect();
    let directed = rescale(&directed);
    let undirected = rescale(&(0..ranked).map(|i| row(i).iter().sum()).collect::<Vec<f32>>());
    let title = rescale(
        &doc.vectors[..ranked]
            .iter()
            .map(|v| sparse_dot(v, &doc.title))
            .collect::<Vec<f32>>(),
    );
    let lead = if config.lead_confidence {
        undirected.first().copied().unwrap_or(0.0)
    } else {
        1.0
    };
    let hook = if config.hook_confidence > 0.0 {
        (lead / config.hook_confidence).min(1.0)
    } else {
        1.0
    };
    (0..ranked)
        .map(|i| {
            let prior = lead * config.position * (1.0 + i as f32).powf(-config.position_decay);
            let mut gist = directed[i] + prior + config.title * title[i];
            if i == 0 {
                gist *= hook;
            }
            let length = if config.long_words > 0.0 {
                (config.long_words / doc.words[i].max(1) as f32).min(1.0)
            } else {
                1.0
            };
            length * ((1.0 - digest) * gist + digest * undirected[i])
        })
        .collect()
}

/// Maps values linearly onto 0..=1 (all zeros when they are all equal).
fn rescale(values: &[f32]) -> Vec<f32> {
    let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = hi - lo;
    values
        .iter()
        .map(|v| if span > 1e-9 { (v - lo) / span } else { 0.0 })
        .collect()
}

fn normalised(vectors: &[Vec<f32>]) -> Vec<Vec<f32>> {
    vectors
        .iter()
        .map(|v| {
            let clean: Vec<f32> = v.iter().map(|x| if x.is_finite() { *x } else { 0.0 }).collect();
            let norm = clean.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                clean.iter().map(|x| x / norm).collect()
            } else {
                clean
            }
        })
        .collect()
}

fn dense_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Dot product of two sparse vectors sorted by term (any term id type; story clustering
/// uses hashed terms).
pub fn sparse_dot<T: Ord>(a: &[(T, f32)], b: &[(T, f32)]) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Smoothed IDF with sentences as documents: `ln(1 + n / df)`.
fn inverse_document_frequency(counts: &[Vec<(u32, f32)>], vocab: usize) -> Vec<f32> {
    let mut df = vec![0u32; vocab];
    for c in counts {
        for &(t, _) in c {
            df[t as usize] += 1;
        }
    }
    let n = counts.len().max(1) as f32;
    df.iter().map(|&d| (1.0 + n / d.max(1) as f32).ln()).collect()
}

/// The vector scaled to unit length; empty when it is zero (or not finite).
pub fn unit<T>(weights: impl Iterator<Item = (T, f32)>) -> Vec<(T, f32)> {
    let v: Vec<(T, f32)> = weights.collect();
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.into_iter().map(|(t, w)| (t, w / norm)).collect()
    } else {
        Vec::new()
    }
}

/// Per-document term ids for stemmed, lowercased content words.
struct Vocabulary {
    ids: HashMap<String, u32, BuildHasherDefault<WordHasher>>,
    word: String,
}

impl Vocabulary {
    fn with_capacity(words: usize) -> Self {
        Vocabulary {
            ids: HashMap::with_capacity_and_hasher(words, BuildHasherDefault::default()),
            word: String::new(),
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Term counts of `text`, sorted by term id, and its number of words
    /// (runs of letters and digits, stopwords included).
    fn term_counts(&mut self, text: &str) -> (Vec<(u32, f32)>, usize) {
        let mut terms: Vec<u32> = Vec::new();
        let ids = &mut self.ids;
        let words = for_each_content_stem(text, &mut self.word, |stem| {
            let id = match ids.get(stem) {
                Some(&id) => id,
                None => {
                    let id = ids.len() as u32;
                    ids.insert(stem.to_owned(), id);
                    id
                }
            };
            terms.push(id);
        });
        terms.sort_unstable();
        let mut counts: Vec<(u32, f32)> = Vec::with_capacity(terms.len());
        for t in terms {
            match counts.last_mut() {
                Some((last, n)) if *last == t => *n += 1.0,
                _ => counts.push((t, 1.0)),
            }
        }
        (counts, words)
    }
}

/// Calls `stem_of` with the stemmed, lowercased content word of each word of `text` (stopwords
/// skipped), using `scratch` as its buffer; returns the number of words (runs of letters and
/// digits, stopwords included). The one definition of a "term", shared with story clustering
/// (`digest`), so that summaries and stories weigh the same words.
pub fn for_each_content_stem(text: &str, scratch: &mut String, mut stem_of: impl FnMut(&str)) -> usize {
    let mut words = 0;
    // Splitting on ASCII bytes is much cheaper than a Unicode class check
    // per char; non-ASCII punctuation glued to a word is trimmed below.
    let pieces = text.split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric() && c != '\'');
    for raw in pieces {
        let raw = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let raw = raw.strip_suffix("'s").or_else(|| raw.strip_suffix("’s")).unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        words += 1;
        scratch.clear();
        if raw.is_ascii() {
            scratch.push_str(raw);
            scratch.make_ascii_lowercase();
        } else {
            scratch.extend(raw.chars().flat_map(char::to_lowercase));
        }
        if STOPWORD_SET.contains(scratch.as_str()) {
            continue;
        }
        stem_of(stem(scratch));
    }
    words
}

/// A small multiplicative hasher for short words: the vocabulary is private
/// to one document, so SipHash's flooding resistance buys nothing here and
/// costs a large share of the run time.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

/// A light suffix stripper: enough to match inflections of the same word
/// (`talks`/`talked`/`talking`) without a full Porter stemmer.
fn stem(word: &str) -> &str {
    if word.len() <= 4 || !word.is_ascii() {
        return word;
    }
    for suffix in ["ings", "ing", "edly", "ed", "ies", "es", "s", "ly"] {
        if let Some(base) = word.strip_suffix(suffix) {
            if base.len() >= 3 && !base.ends_with('s') {
                return base;
            }
        }
    }
    word
}

/// [`STOPWORDS`] for constant-time lookup.
static STOPWORD_SET: LazyLock<HashSet<&'static str, BuildHasherDefault<WordHasher>>> =
    LazyLock::new(|| STOPWORDS.iter().copied().collect());

/// English function words, sorted.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "mr",
    "mrs",
    "ms",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "said",
    "same",
    "say",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

#[cfg(test)]
mod tests {
    use super::*;

    const ARTICLE: &str = "- News>\n- World\n\
        Kim Jong-un arrived in Beijing for talks with Xi Jinping on Tuesday.\n\
        The North Korean leader is seeking relief from sanctions, sources said.\n\
        Kim met Xi twice before this year, in March and in May.\n\
        The weather in Beijing was warm and sunny.\n\
        Analysts said the talks with Xi could shape sanctions relief for North Korea.";

    fn texts(doc: &Document, picked: &[ExtractedSentence]) -> Vec<String> {
        picked.iter().map(|s| doc.body()[s.range.clone()].to_owned()).collect()
    }

    #[test]
    fn stopwords_are_sorted_and_unique() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn boilerplate_is_not_a_candidate() {
        let doc = Document::new(None, ARTICLE);
        assert_eq!(doc.sentence_count(), 5);
        assert_eq!(doc.boilerplate_ranges().len(), 2);
        assert!(doc.candidate_texts()[0].starts_with("Kim Jong-un arrived"));
    }

    #[test]
    fn picks_central_sentences_in_document_order() {
        let doc = Document::new(Some("Kim visits Beijing for talks with Xi"), ARTICLE);
        let picked = select(&doc, SummaryLength::Sentences(2), RankMode::Lexical);
        let got = texts(&doc, &picked);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("Kim Jong-un arrived"), "{got:?}");
        assert!(!got.iter().any(|s| s.contains("weather")), "{got:?}");
        assert!(picked.windows(2).all(|w| w[0].range.start < w[1].range.start));
        assert!(picked.iter().all(|s| s.score.is_finite()));
    }

    #[test]
    fn ratio_rounds_and_keeps_at_least_one() {
        let doc = Document::new(None, ARTICLE);
        assert_eq!(select(&doc, SummaryLength::Ratio(0.4), RankMode::Lexical).len(), 2);
        assert_eq!(select(&doc, SummaryLength::Ratio(0.01), RankMode::Lexical).len(), 1);
        assert_eq!(select(&doc, SummaryLength::Ratio(f32::NAN), RankMode::Lexical).len(), 1);
        assert_eq!(select(&doc, SummaryLength::Sentences(99), RankMode::Lexical).len(), 5);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        for body in ["", "   ", "...", "- News>", "a", "Ünïcödé… “quoted”"] {
            let doc = Document::new(Some(""), body);
            for mode in [RankMode::Lexical, RankMode::Semantic(&[]), RankMode::Hybrid(&[])] {
                let got = select(&doc, SummaryLength::Sentences(3), mode);
                assert!(got.len() <= doc.sentence_count());
            }
        }
    }

    #[test]
    fn embeddings_drive_semantic_mode_and_bad_ones_fall_back() {
        let doc = Document::new(None, ARTICLE);
        // Sentences 1 and 3 (0-based) share a direction; the rest are orthogonal.
        let embeddings: Vec<Vec<f32>> = (0..5)
            .map(|i| match i {
                1 | 3 => vec![1.0, 0.0, 0.0],
                0 => vec![0.0, 1.0, 0.0],
                _ => vec![0.0, 0.0, f32::NAN],
            })
            .collect();
        let picked = select(&doc, SummaryLength::Sentences(2), RankMode::Semantic(&embeddings));
        assert_eq!(picked.len(), 2);
        assert!(picked.iter().all(|s| s.score.is_finite()));
        let wrong_count = &embeddings[..2];
        let fallback = select(&doc, SummaryLength::Sentences(2), RankMode::Semantic(wrong_count));
        let lexical = select(&doc, SummaryLength::Sentences(2), RankMode::Lexical);
        assert_eq!(fallback, lexical);
    }

    #[test]
    fn ratio_lengths_blend_towards_a_digest() {
        let config = Config::default();
        assert_eq!(digest_weight(SummaryLength::Sentences(3), &config), 0.0);
        assert_eq!(digest_weight(SummaryLength::Ratio(0.4), &config), 1.0);
        let small = digest_weight(SummaryLength::Ratio(0.1), &config);
        assert!(small > 0.0 && small < 1.0, "{small}");
        assert_eq!(digest_weight(SummaryLength::Ratio(f32::NAN), &config), 0.0);
        let gist_only = Config {
            digest_ratio: 0.0,
            ..Config::default()
        };
        assert_eq!(digest_weight(SummaryLength::Ratio(0.4), &gist_only), 0.0);
    }

    #[test]
    fn huge_documents_stay_bounded() {
        let body = "Officials said the river flooded the town again. ".repeat(2000);
        let doc = Document::new(None, &body);
        assert_eq!(doc.sentence_count(), 2000);
        let picked = select(&doc, SummaryLength::Ratio(0.5), RankMode::Lexical);
        assert_eq!(picked.len(), 1000);
        assert!(picked.windows(2).all(|w| w[0].range.start < w[1].range.start));
    }

    #[test]
    fn a_hook_that_the_article_does_not_echo_loses_the_lead_slot() {
        let body = "It was a week that nobody in the town will forget.\n\
            Flood waters swept through the town of Riverton on Monday, forcing hundreds of families from their homes.\n\
            Rescue teams in Riverton used boats to reach families trapped by the flood waters.\n\
            The flood waters are expected to recede by Friday, officials in Riverton said.\n\
            Families returning home will find the flood damaged roads and schools.\n\
            The town council of Riverton has opened shelters for families hit by the flood.";
        let doc = Document::new(None, body);
        let pick = |config: &Config| {
            texts(
                &doc,
                &select_with(&doc, SummaryLength::Sentences(2), RankMode::Lexical, config),
            )
        };
        let picked = pick(&Config::default());
        assert!(picked[0].starts_with("Flood waters swept"), "{picked:?}");
        assert!(!picked.iter().any(|s| s.starts_with("It was a week")), "{picked:?}");
        let no_hook_check = pick(&Config {
            hook_confidence: 0.0,
            ..Config::default()
        });
        assert!(no_hook_check[0].starts_with("It was a week"), "{no_hook_check:?}");
        // A lead the article elaborates keeps its slot.
        let doc = Document::new(None, ARTICLE);
        let picked = texts(&doc, &select(&doc, SummaryLength::Sentences(2), RankMode::Lexical));
        assert!(picked[0].starts_with("Kim Jong-un arrived"), "{picked:?}");
    }

    #[test]
    fn run_on_sentences_lose_salience_in_proportion_to_length() {
        let run_on = format!("{} talks.", "Kim met Xi in Beijing for talks".repeat(20));
        let body =
            format!("Kim arrived in Beijing for talks with Xi.\n{run_on}\nKim and Xi discussed sanctions in Beijing.");
        let doc = Document::new(None, &body);
        assert!(doc.words[1] > 100);
        let sim = similarity_matrix(&doc, 3, RankMode::Lexical);
        let with = salience(&doc, &sim, 3, 0.0, &Config::default());
        let without = salience(
            &doc,
            &sim,
            3,
            0.0,
            &Config {
                long_words: 0.0,
                ..Config::default()
            },
        );
        let scale = Config::default().long_words / doc.words[1] as f32;
        assert!((with[1] - scale * without[1]).abs() < 1e-5, "{with:?} {without:?}");
        assert_eq!(with[2], without[2]);
    }

    #[test]
    fn stemmer_conflates_inflections() {
        assert_eq!(stem("talks"), stem("talking"));
        assert_eq!(stem("talked"), "talk");
        assert_eq!(stem("news"), "news");
    }
}
