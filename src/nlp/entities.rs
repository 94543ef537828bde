//! Entity mention tagger. GUM mentions nest ("[[North Korea]'s leader Kim Jong-Un]"), so two
//! greedy BIO taggers are trained: one for the outermost mentions and one for the innermost
//! (mentions containing no other). Their union keeps both the full mention and the names
//! nested in it.

use std::ops::Range;

use super::conllu::{GoldMention, GoldSentence};
use super::features::{word_feats, WordFeats, PAD};
use super::perceptron::{argmax_allowed, hash_bytes, key1, key2, key3, Model, Rng, Trainer};
use super::{intern_deprel, EntityKind, NlpError, Upos};

const CLASSES: usize = 1 + 2 * EntityKind::ALL.len();

/// A predicted mention over word indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    /// Word indices (end exclusive).
    pub tokens: Range<usize>,
    /// Entity type.
    pub kind: EntityKind,
    /// Contains a proper noun.
    pub proper: bool,
    /// Word whose head lies outside the mention.
    pub head: usize,
    /// The proper-name part, if any.
    pub name_tokens: Option<Range<usize>>,
}

/// Tags, heads and relations of one sentence, as the entity tagger's features see them.
pub type Analysis = (Vec<Upos>, Vec<Option<usize>>, Vec<&'static str>);

/// Outer and inner BIO mention taggers.
pub struct EntityTagger {
    outer: Model,
    inner: Model,
}

/// Which nesting layer a gold mention list is reduced to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Mentions not inside another mention.
    Outer,
    /// Mentions that contain no other mention.
    Inner,
}

/// Reduces nested gold mentions to one non-overlapping layer.
pub fn gold_layer(mentions: &[GoldMention], layer: Layer) -> Vec<GoldMention> {
    let mut sorted: Vec<&GoldMention> = mentions.iter().collect();
    match layer {
        Layer::Outer => sorted.sort_by_key(|m| (m.tokens.start, std::cmp::Reverse(m.tokens.end))),
        Layer::Inner => sorted.sort_by_key(|m| (m.tokens.len(), m.tokens.start)),
    }
    let mut chosen: Vec<GoldMention> = Vec::new();
    for m in sorted {
        if chosen
            .iter()
            .all(|c| c.tokens.end <= m.tokens.start || m.tokens.end <= c.tokens.start)
        {
            chosen.push(m.clone());
        }
    }
    chosen.sort_by_key(|m| m.tokens.start);
    chosen
}

fn encode(mentions: &[GoldMention], n: usize) -> Vec<usize> {
    let mut labels = vec![0; n];
    for m in mentions {
        let k = m.kind.index();
        for i in m.tokens.clone() {
            if i < n {
                labels[i] = if i == m.tokens.start { 1 + 2 * k } else { 2 + 2 * k };
            }
        }
    }
    labels
}

fn valid(prev: usize, class: usize) -> bool {
    // I-k (even, > 0) only continues B-k or I-k.
    class == 0 || class % 2 == 1 || (prev != 0 && (prev - 1) / 2 == (class - 2) / 2)
}

fn decode(labels: &[usize]) -> Vec<(Range<usize>, EntityKind)> {
    let mut out: Vec<(Range<usize>, EntityKind)> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let kind = EntityKind::ALL[(l - 1) / 2];
        match out.last_mut() {
            Some((r, k)) if l % 2 == 0 && r.end == i && *k == kind => r.end = i + 1,
            _ => out.push((i..i + 1, kind)),
        }
    }
    out
}

/// Token context shared by both layers.
struct Context<'a> {
    w: &'a [WordFeats],
    tags: &'a [Upos],
    heads: &'a [Option<usize>],
    rels: Vec<u64>,
}

impl Context<'_> {
    fn features(&self, i: usize, prev: usize, prev2: usize, out: &mut Vec<u64>) {
        out.clear();
        let w = self.w;
        let n = w.len();
        let tag = |k: isize| -> u64 {
            usize::try_from(i as isize + k)
                .ok()
                .filter(|&j| j < n)
                .map_or(99, |j| self.tags[j].index() as u64 + 1)
        };
        let lc = |k: isize| -> u64 {
            usize::try_from(i as isize + k)
                .ok()
                .and_then(|j| w.get(j))
                .map_or(PAD, |f| f.lc)
        };
        let me = &w[i];
        let (p, p2) = (prev as u64, prev2 as u64);
        let head = self.heads[i].filter(|&h| h < n);
        let head_t = head.map_or(100, |h| self.tags[h].index() as u64 + 1);
        let head_w = head.map_or(PAD, |h| w[h].lc);
        let dir = head.map_or(2, |h| u64::from(h < i));
        let link = match i.checked_sub(1) {
            Some(j) if self.heads[i] == Some(j) => 1,
            Some(j) if self.heads[j] == Some(i) => 2,
            Some(j) if self.heads[j] == self.heads[i] => 3,
            Some(_) => 4,
            None => 5,
        };
        let rel = self.rels[i];
        out.extend_from_slice(&[
            key1(0, 0),
            key1(1, me.lc),
            key1(2, me.raw),
            key1(3, me.shape),
            key1(4, me.suf[2]),
            key1(5, me.pref[2]),
            key1(6, tag(0)),
            key2(7, tag(-1), tag(0)),
            key2(8, tag(0), tag(1)),
            key3(9, tag(-1), tag(0), tag(1)),
            key1(10, lc(-1)),
            key1(11, lc(1)),
            key1(12, lc(-2)),
            key1(13, lc(2)),
            key1(14, p),
            key2(15, p, tag(0)),
            key2(16, p, me.lc),
            key2(17, p2, p),
            key1(18, rel),
            key2(19, rel, tag(0)),
            key3(20, head_t, rel, dir),
            key2(21, head_w, rel),
            key3(22, p, link, tag(0)),
            key2(23, u64::from(me.title), tag(0)),
            key2(24, me.suf[1], tag(0)),
            key3(25, p, tag(-1), tag(0)),
            key2(26, lc(-1), me.lc),
            key2(27, me.lc, lc(1)),
            key1(28, tag(2)),
            key1(29, tag(-2)),
        ]);
    }

    fn run(&self, mut score: impl FnMut(&[u64], usize, usize, &[usize]) -> usize) -> Vec<usize> {
        let mut labels: Vec<usize> = Vec::with_capacity(self.w.len());
        let mut feats = Vec::with_capacity(40);
        for i in 0..self.w.len() {
            let prev = i.checked_sub(1).map_or(0, |j| labels[j]);
            let prev2 = i.checked_sub(2).map_or(0, |j| labels[j]);
            self.features(i, prev, prev2, &mut feats);
            let l = score(&feats, i, prev, &labels);
            labels.push(l);
        }
        labels
    }
}

fn context<'a>(w: &'a [WordFeats], tags: &'a [Upos], heads: &'a [Option<usize>], deprels: &[&str]) -> Context<'a> {
    Context {
        w,
        tags,
        heads,
        rels: deprels.iter().map(|d| hash_bytes(d.as_bytes())).collect(),
    }
}

/// GUM mentions are (nearly always) the projection of their head's subtree. When a tagged
/// span ran on into a verb and holds several words attached outside it, keep the contiguous
/// part under its nominal head.
fn trim_to_subtree(span: Range<usize>, heads: &[Option<usize>], tags: &[Upos]) -> Range<usize> {
    const MAX_DEPTH: usize = 64;
    let outside: Vec<usize> = span
        .clone()
        .filter(|&i| heads[i].is_none_or(|h| !span.contains(&h)))
        .collect();
    // Only spans that swallowed a verb are trimmed; several outside attachments without one
    // are usually parse errors inside a good span (e.g. a title before a name).
    if outside.len() <= 1 || !span.clone().any(|i| matches!(tags[i], Upos::Verb | Upos::Aux)) {
        return span;
    }
    // The first nominal attached outside the span or to a verb inside it (a subject the
    // span ran past).
    let head = span
        .clone()
        .find(|&i| {
            matches!(tags[i], Upos::Noun | Upos::Propn | Upos::Pron | Upos::Num)
                && heads[i].is_none_or(|h| !span.contains(&h) || matches!(tags[h], Upos::Verb | Upos::Aux))
        })
        .unwrap_or(outside[0]);
    let under = |mut j: usize| {
        for _ in 0..MAX_DEPTH {
            if j == head {
                return true;
            }
            match heads[j] {
                Some(h) if span.contains(&h) => j = h,
                _ => return false,
            }
        }
        false
    };
    let mut start = head;
    while start > span.start && under(start - 1) {
        start -= 1;
    }
    let mut end = head + 1;
    while end < span.end && under(end) {
        end += 1;
    }
    start..end
}

/// Longest run of proper nouns (joined over a single hyphen or period between two proper
/// nouns) that is not a possessive modifier; prefers the run holding the mention head.
fn name_part(tags: &[Upos], words: &[WordFeats], span: &Range<usize>, head: usize) -> Option<Range<usize>> {
    let possessive = hash_bytes(b"'s");
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut i = span.start;
    while i < span.end {
        if tags[i] != Upos::Propn {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < span.end
            && (tags[i] == Upos::Propn
                || (tags[i] == Upos::Punct
                    && i + 1 < span.end
                    && tags[i + 1] == Upos::Propn
                    && tags[i - 1] == Upos::Propn))
        {
            i += 1;
        }
        runs.push(start..i);
    }
    // A name followed by "'s" modifies something else in the mention, unless the "'s" ends
    // the mention (then the whole mention is the possessor).
    let free =
        |r: &&Range<usize>| r.end + 1 >= span.end || !(tags[r.end] == Upos::Part && words[r.end].lc == possessive);
    runs.iter()
        .filter(free)
        .find(|r| r.contains(&head))
        .or_else(|| runs.iter().rev().find(|r| free(r)))
        .cloned()
}

impl EntityTagger {
    /// A tagger without weights (finds nothing).
    pub fn untrained() -> EntityTagger {
        EntityTagger {
            outer: Model::empty(CLASSES),
            inner: Model::empty(CLASSES),
        }
    }

    /// Mentions in a tagged, parsed sentence.
    pub fn find(&self, words: &[&str], tags: &[Upos], heads: &[Option<usize>], deprels: &[&str]) -> Vec<Mention> {
        self.find_feats(&word_feats(words), tags, heads, deprels)
    }

    pub(crate) fn find_feats(
        &self,
        w: &[WordFeats],
        tags: &[Upos],
        heads: &[Option<usize>],
        deprels: &[&str],
    ) -> Vec<Mention> {
        let ctx = context(w, tags, heads, deprels);
        let mut scores = vec![0.0f32; CLASSES];
        let mut layer = |model: &Model| {
            decode(&ctx.run(|feats, _, prev, _| {
                model.scores(feats, &mut scores);
                argmax_allowed(&scores, |c| valid(prev, c)).unwrap_or(0)
            }))
        };
        let trim = |spans: Vec<(Range<usize>, EntityKind)>| -> Vec<(Range<usize>, EntityKind)> {
            spans
                .into_iter()
                .map(|(r, k)| (trim_to_subtree(r, heads, tags), k))
                .collect()
        };
        let outer = trim(layer(&self.outer));
        let inner = trim(layer(&self.inner));
        let mut spans: Vec<(Range<usize>, EntityKind)> = outer.clone();
        for (r, k) in inner {
            let crosses = outer
                .iter()
                .any(|(o, _)| r.start < o.end && o.start < r.end && !(o.start <= r.start && r.end <= o.end));
            if !crosses && !spans.iter().any(|(s, _)| *s == r) {
                spans.push((r, k));
            }
        }
        spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
        spans
            .into_iter()
            .map(|(tokens, kind)| {
                let head = tokens
                    .clone()
                    .find(|&i| heads[i].is_none_or(|h| !tokens.contains(&h)))
                    .unwrap_or(tokens.start);
                let proper = tokens.clone().any(|i| tags[i] == Upos::Propn);
                let name_tokens = if proper {
                    name_part(tags, w, &tokens, head)
                } else {
                    None
                };
                Mention {
                    tokens,
                    kind,
                    proper,
                    head,
                    name_tokens,
                }
            })
            .collect()
    }

    /// Trains both layers on gold mentions; sentences marked `names_only` train only the
    /// inner layer, and only on their trustworthy tokens. `tags`, `heads` and `deprels` give the analysis
    /// the features see (ideally predicted, so training matches use).
    pub fn train(
        sentences: &[GoldSentence],
        analyses: &[Analysis],
        iterations: usize,
        seed: u64,
        max_rows: usize,
    ) -> EntityTagger {
        let cached: Vec<Vec<WordFeats>> = sentences.iter().map(|s| word_feats(&s.word_refs())).collect();
        let train_layer = |layer: Layer, seed: u64| {
            let mut trainer = Trainer::new(CLASSES);
            let mut rng = Rng::new(seed);
            let mut order: Vec<usize> = (0..sentences.len()).collect();
            let mut scores = vec![0.0; CLASSES];
            for _ in 0..iterations {
                rng.shuffle(&mut order);
                for &si in &order {
                    let s = &sentences[si];
                    if s.names_only && layer == Layer::Outer {
                        continue;
                    }
                    let (tags, heads, rels) = &analyses[si];
                    let gold = encode(&gold_layer(&s.mentions, layer), tags.len());
                    let known = known_labels(s, &cached[si], tags, &gold);
                    let ctx = context(&cached[si], tags, heads, rels);
                    ctx.run(|feats, i, prev, _| {
                        trainer.scores(feats, &mut scores);
                        let guess = argmax_allowed(&scores, |c| valid(prev, c)).unwrap_or(0);
                        if !known[i] {
                            return guess;
                        }
                        // After a missed start the gold I-k is unreachable; B-k is the best
                        // reachable target.
                        let truth = if valid(prev, gold[i]) { gold[i] } else { gold[i] - 1 };
                        trainer.update(feats, truth, guess);
                        trainer.tick();
                        guess
                    });
                }
            }
            trainer.finish(max_rows)
        };
        EntityTagger {
            outer: train_layer(Layer::Outer, seed),
            inner: train_layer(Layer::Inner, seed ^ 0x5555),
        }
    }

    /// Number of stored feature rows (both layers).
    pub fn size(&self) -> usize {
        self.outer.len() + self.inner.len()
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.outer.write(out);
        self.inner.write(out);
    }

    pub(crate) fn read(input: &mut &[u8]) -> Result<EntityTagger, NlpError> {
        let outer = Model::read(input)?;
        let inner = Model::read(input)?;
        if outer.classes() != CLASSES || inner.classes() != CLASSES {
            return Err(NlpError::Format("entity class count".into()));
        }
        Ok(EntityTagger { outer, inner })
    }
}

/// Which gold labels can be trusted. Name-only data (e.g. the teacher's silver names)
/// leaves common nouns, pronouns and possessive "'s" unannotated although GUM marks them as
/// (part of) mentions, so there only name tokens, tokens that never belong to a mention, and
/// proper nouns left out of every name count: the annotator saw those and said "no name",
/// which is what teaches the tagger that not every capitalised word is one.
fn known_labels(s: &GoldSentence, w: &[WordFeats], tags: &[Upos], gold: &[usize]) -> Vec<bool> {
    if !s.names_only {
        return vec![true; gold.len()];
    }
    let possessive = hash_bytes(b"'s");
    (0..gold.len())
        .map(|i| {
            gold[i] != 0
                || tags[i] == Upos::Propn
                || (matches!(
                    tags[i],
                    Upos::Verb
                        | Upos::Aux
                        | Upos::Adp
                        | Upos::Punct
                        | Upos::Cconj
                        | Upos::Sconj
                        | Upos::Adv
                        | Upos::Part
                ) && w[i].lc != possessive)
        })
        .collect()
}

/// Gold relations interned for training-time features (unknown ones become "dep").
pub fn intern_all(deprels: &[String]) -> Vec<&'static str> {
    deprels.iter().map(|d| intern_deprel(d).unwrap_or("dep")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(r: Range<usize>, kind: EntityKind) -> GoldMention {
        GoldMention { tokens: r, kind }
    }

    #[test]
    fn layers_and_bio_round_trip() {
        let all = [
            m(0..6, EntityKind::Person),
            m(0..2, EntityKind::Place),
            m(7..8, EntityKind::Place),
        ];
        let outer = gold_layer(&all, Layer::Outer);
        assert_eq!(outer, [all[0].clone(), all[2].clone()]);
        let inner = gold_layer(&all, Layer::Inner);
        assert_eq!(inner, [all[1].clone(), all[2].clone()]);
        let labels = encode(&outer, 9);
        let back: Vec<_> = decode(&labels).into_iter().map(|(r, k)| m(r, k)).collect();
        assert_eq!(back, outer);
        assert!(!valid(0, 2));
        assert!(valid(1, 2));
    }

    #[test]
    fn overlong_span_trimmed_to_nominal_subtree() {
        use Upos::*;
        // "Kim lands in Beijing": Kim <- lands -> Beijing
        let heads = [Some(1), None, Some(3), Some(1)];
        let tags = [Propn, Verb, Adp, Propn];
        assert_eq!(trim_to_subtree(0..4, &heads, &tags), 0..4);
        assert_eq!(trim_to_subtree(0..3, &heads, &tags), 0..1);
        assert_eq!(trim_to_subtree(2..4, &heads, &tags), 2..4);
    }

    #[test]
    fn name_part_skips_possessive_modifier() {
        use Upos::*;
        let words = word_feats(&["North", "Korea", "'s", "leader", "Kim", "Jong", "-", "Un"]);
        let tags = [Propn, Propn, Part, Noun, Propn, Propn, Punct, Propn];
        assert_eq!(name_part(&tags, &words, &(0..8), 3), Some(4..8));
        assert_eq!(name_part(&tags, &words, &(0..2), 1), Some(0..2));
        assert_eq!(name_part(&tags, &words, &(0..3), 1), Some(0..2));
        assert_eq!(name_part(&tags, &words, &(2..4), 3), None);
    }
}
