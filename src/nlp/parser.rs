//! Greedy arc-hybrid dependency parser trained with a dynamic oracle (Goldberg & Nivre 2013),
//! and an arc labeller that assigns UD relations once the tree is complete.

use super::conllu::GoldSentence;
use super::features::{word_feats, WordFeats, PAD, ROOT};
use super::perceptron::{argmax_allowed, key1, key2, key3, Model, Rng, Trainer};
use super::{intern_deprel, NlpError, Upos, DEPRELS};

const SHIFT: usize = 0;
const LEFT: usize = 1;
const RIGHT: usize = 2;
const MOVES: usize = 3;

/// Unlabelled transition parser.
pub struct Parser {
    model: Model,
}

/// Parser configuration. Words are `0..n`; index `n` is the artificial root, placed at the
/// end of the buffer so that the root attachment is decided last.
struct State {
    n: usize,
    stack: Vec<usize>,
    next: usize,
    heads: Vec<Option<usize>>,
    lefts: Vec<Vec<usize>>,
    rights: Vec<Vec<usize>>,
}

impl State {
    fn new(n: usize) -> State {
        State {
            n,
            stack: Vec::with_capacity(n),
            next: 0,
            heads: vec![None; n],
            lefts: vec![Vec::new(); n + 1],
            rights: vec![Vec::new(); n + 1],
        }
    }

    fn done(&self) -> bool {
        self.stack.is_empty() && self.next >= self.n
    }

    fn valid(&self, m: usize) -> bool {
        match m {
            SHIFT => self.next < self.n,
            LEFT => !self.stack.is_empty(),
            RIGHT => self.stack.len() >= 2,
            _ => false,
        }
    }

    fn apply(&mut self, m: usize) {
        match m {
            SHIFT => {
                self.stack.push(self.next);
                self.next += 1;
            }
            LEFT => {
                if let Some(s0) = self.stack.pop() {
                    self.heads[s0] = Some(self.next);
                    self.lefts[self.next].push(s0);
                }
            }
            RIGHT => {
                if let Some(s0) = self.stack.pop() {
                    if let Some(&s1) = self.stack.last() {
                        self.heads[s0] = Some(s1);
                        self.rights[s1].push(s0);
                    }
                }
            }
            _ => {}
        }
    }

    /// Number of gold arcs made unreachable by move `m` (gold root = `n`).
    fn cost(&self, m: usize, gold: &[usize]) -> usize {
        let b0 = self.next;
        let buffer = b0..=self.n;
        match m {
            SHIFT => {
                let below = self.stack.len().saturating_sub(1);
                self.stack.iter().filter(|&&s| gold[s] == b0).count()
                    + self.stack[..below].iter().filter(|&&s| gold[b0] == s).count()
            }
            _ => {
                let Some(&s0) = self.stack.last() else {
                    return usize::MAX;
                };
                let s1 = self.stack.len().checked_sub(2).map(|k| self.stack[k]);
                let deps = buffer.clone().filter(|&b| b < self.n && gold[b] == s0).count();
                let g = gold[s0];
                let lost_head = if m == LEFT {
                    g != b0 && (Some(g) == s1 || (g > b0 && g <= self.n))
                } else {
                    Some(g) != s1 && buffer.contains(&g)
                };
                deps + usize::from(lost_head)
            }
        }
    }

    fn features(&self, w: &[WordFeats], tags: &[Upos], out: &mut Vec<u64>) {
        out.clear();
        let n = self.n;
        let word = |i: Option<usize>| match i {
            Some(i) if i < n => w[i].lc,
            Some(_) => ROOT,
            None => PAD,
        };
        let tag = |i: Option<usize>| match i {
            Some(i) if i < n => tags[i].index() as u64 + 1,
            Some(_) => 100,
            None => 200,
        };
        let st = |k: usize| self.stack.len().checked_sub(k + 1).map(|j| self.stack[j]);
        let buf = |k: usize| Some(self.next + k).filter(|&j| j <= n);
        let (s0, s1, s2) = (st(0), st(1), st(2));
        let (n0, n1, n2) = (buf(0), buf(1), buf(2));
        let lefts = |i: Option<usize>, k: usize| {
            i.and_then(|i| self.lefts[i].len().checked_sub(k + 1).map(|j| self.lefts[i][j]))
        };
        let rights = |i: Option<usize>, k: usize| {
            i.and_then(|i| self.rights[i].len().checked_sub(k + 1).map(|j| self.rights[i][j]))
        };
        let (s0w, s0t, n0w, n0t) = (word(s0), tag(s0), word(n0), tag(n0));
        let (s1w, s1t, n1w, n1t) = (word(s1), tag(s1), word(n1), tag(n1));
        let (s2t, n2t) = (tag(s2), tag(n2));
        let s0l = lefts(s0, 0);
        let s0r = rights(s0, 0);
        let n0l = lefts(n0, 0);
        let (s0lt, s0rt, n0lt) = (tag(s0l), tag(s0r), tag(n0l));
        let s1r = rights(s1, 0);
        let dist = match (s0, n0) {
            (Some(a), Some(b)) if b < n => (b - a).min(6) as u64,
            (Some(_), Some(_)) => 7,
            _ => 8,
        };
        let s0vl = s0.map_or(9, |i| self.lefts[i].len().min(4) as u64);
        let s0vr = s0.map_or(9, |i| self.rights[i].len().min(4) as u64);
        let n0vl = n0.map_or(9, |i| self.lefts[i].len().min(4) as u64);
        let s0p = s0.map_or(PAD, |i| w[i].suf[1]);
        out.extend_from_slice(&[
            key1(0, 0),
            key1(1, s0w),
            key1(2, s0t),
            key2(3, s0w, s0t),
            key1(4, n0w),
            key1(5, n0t),
            key2(6, n0w, n0t),
            key1(7, n1w),
            key1(8, n1t),
            key2(9, n1w, n1t),
            key1(10, n2t),
            key1(11, s1w),
            key1(12, s1t),
            key2(13, s1w, s1t),
            key1(14, s2t),
            key3(15, s0w, s0t, key2(0, n0w, n0t)),
            key3(16, s0w, s0t, n0w),
            key3(17, s0w, n0w, n0t),
            key3(18, s0w, s0t, n0t),
            key3(19, s0t, n0w, n0t),
            key2(20, s0w, n0w),
            key2(21, s0t, n0t),
            key2(22, n0t, n1t),
            key3(23, n0t, n1t, n2t),
            key3(24, s0t, n0t, n1t),
            key3(25, s1t, s0t, n0t),
            key3(26, s0t, s0lt, n0t),
            key3(27, s0t, s0rt, n0t),
            key3(28, s0t, n0t, n0lt),
            key3(29, s1t, s0t, s0lt),
            key3(30, s1t, s0t, s0rt),
            key3(31, s2t, s1t, s0t),
            key2(32, s0w, dist),
            key2(33, s0t, dist),
            key2(34, n0w, dist),
            key2(35, n0t, dist),
            key3(36, s0t, n0t, dist),
            key2(37, s0w, s0vr),
            key2(38, s0t, s0vr),
            key2(39, s0w, s0vl),
            key2(40, s0t, s0vl),
            key2(41, n0w, n0vl),
            key2(42, n0t, n0vl),
            key1(43, word(s0l)),
            key1(44, s0lt),
            key1(45, word(s0r)),
            key1(46, s0rt),
            key1(47, word(n0l)),
            key1(48, n0lt),
            key1(49, tag(lefts(s0, 1))),
            key1(50, tag(rights(s0, 1))),
            key1(51, tag(lefts(n0, 1))),
            key3(52, s1t, tag(s1r), s0t),
            key3(53, s1w, s0w, n0t),
            key3(54, s0p, s0t, n0t),
            key2(55, s1t, n0t),
            key3(56, s1t, s1w, n0w),
        ]);
    }
}

/// Attaches all but one root child to the chosen root so that the tree has a single root.
fn single_root(heads: &mut [Option<usize>], tags: &[Upos]) {
    let n = heads.len();
    let roots: Vec<usize> = (0..n).filter(|&i| heads[i].is_none_or(|h| h >= n)).collect();
    let Some(&first) = roots.first() else {
        return;
    };
    let main = roots
        .iter()
        .copied()
        .find(|&r| matches!(tags[r], Upos::Verb | Upos::Aux))
        .unwrap_or(first);
    for r in roots {
        heads[r] = (r != main).then_some(main);
    }
}

impl Parser {
    /// A parser without weights.
    pub fn untrained() -> Parser {
        Parser {
            model: Model::empty(MOVES),
        }
    }

    /// Heads per word (`None` = root) for tagged words.
    pub fn parse(&self, words: &[&str], tags: &[Upos]) -> Vec<Option<usize>> {
        self.parse_feats(&word_feats(words), tags)
    }

    pub(crate) fn parse_feats(&self, w: &[WordFeats], tags: &[Upos]) -> Vec<Option<usize>> {
        let mut state = State::new(w.len());
        let mut feats = Vec::with_capacity(64);
        let mut scores = [0.0f32; MOVES];
        while !state.done() {
            state.features(w, tags, &mut feats);
            self.model.scores(&feats, &mut scores);
            let Some(m) = argmax_allowed(&scores, |m| state.valid(m)) else {
                break;
            };
            state.apply(m);
        }
        let mut heads = state.heads;
        single_root(&mut heads, tags);
        heads
    }

    /// Trains with the dynamic oracle: the first epoch follows the oracle, later epochs follow
    /// the model's own predictions so it learns to recover from its mistakes.
    /// `tags` gives the (ideally predicted, jack-knifed) tags per sentence.
    pub fn train(
        sentences: &[GoldSentence],
        tags: &[Vec<Upos>],
        iterations: usize,
        seed: u64,
        max_rows: usize,
    ) -> Parser {
        let mut trainer = Trainer::new(MOVES);
        let mut rng = Rng::new(seed);
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        let cached: Vec<Vec<WordFeats>> = sentences.iter().map(|s| word_feats(&s.word_refs())).collect();
        let mut feats = Vec::with_capacity(64);
        let mut scores = [0.0; MOVES];
        for epoch in 0..iterations {
            rng.shuffle(&mut order);
            for &si in &order {
                let s = &sentences[si];
                let n = s.words.len();
                let gold: Vec<usize> = s.heads.iter().map(|h| h.unwrap_or(n)).collect();
                let mut state = State::new(n);
                while !state.done() {
                    state.features(&cached[si], &tags[si], &mut feats);
                    trainer.scores(&feats, &mut scores);
                    let costs: Vec<usize> = (0..MOVES)
                        .map(|m| {
                            if state.valid(m) {
                                state.cost(m, &gold)
                            } else {
                                usize::MAX
                            }
                        })
                        .collect();
                    let min = costs.iter().copied().min().unwrap_or(usize::MAX);
                    if min == usize::MAX {
                        break;
                    }
                    let Some(guess) = argmax_allowed(&scores, |m| costs[m] != usize::MAX) else {
                        break;
                    };
                    let best = argmax_allowed(&scores, |m| costs[m] == min).unwrap_or(guess);
                    if costs[guess] > min {
                        trainer.update(&feats, best, guess);
                    }
                    trainer.tick();
                    let follow = if epoch == 0 || rng.next_f64() < 0.1 {
                        best
                    } else {
                        guess
                    };
                    state.apply(follow);
                }
            }
        }
        Parser {
            model: trainer.finish(max_rows),
        }
    }

    /// Number of stored feature rows.
    pub fn size(&self) -> usize {
        self.model.len()
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.model.write(out);
    }

    pub(crate) fn read(input: &mut &[u8]) -> Result<Parser, NlpError> {
        let model = Model::read(input)?;
        if model.classes() != MOVES {
            return Err(NlpError::Format("parser class count".into()));
        }
        Ok(Parser { model })
    }
}

/// Assigns a UD relation to every arc of a finished tree.
pub struct Labeller {
    model: Model,
}

fn root_class() -> usize {
    DEPRELS.iter().position(|d| *d == "root").unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
fn label_features(
    w: &[WordFeats],
    tags: &[Upos],
    punct_prefix: &[usize],
    children: &[Vec<usize>],
    heads: &[Option<usize>],
    d: usize,
    h: usize,
    out: &mut Vec<u64>,
) {
    out.clear();
    let tag = |i: usize| tags[i].index() as u64 + 1;
    let (dw, dt, hw, ht) = (w[d].lc, tag(d), w[h].lc, tag(h));
    let dir = u64::from(d < h);
    let dist = d.abs_diff(h).min(6) as u64;
    let dchildren = &children[d];
    let first_child_t = dchildren.first().map_or(0, |&c| tag(c));
    let last_child_t = dchildren.last().map_or(0, |&c| tag(c));
    let (lo, hi) = (d.min(h), d.max(h));
    let puncts_between = (punct_prefix[hi] - punct_prefix[lo + 1]).min(2) as u64;
    let hh = heads[h].map_or(300, tag);
    let prev_t = d.checked_sub(1).map_or(200, tag);
    let next_t = if d + 1 < w.len() { tag(d + 1) } else { 200 };
    out.extend_from_slice(&[
        key1(0, 0),
        key1(1, dw),
        key1(2, dt),
        key1(3, hw),
        key1(4, ht),
        key2(5, dt, ht),
        key2(6, dw, ht),
        key2(7, dt, hw),
        key2(8, dw, hw),
        key3(9, dt, ht, dir),
        key3(10, key2(0, dt, ht), dir, dist),
        key2(11, dw, dir),
        key2(12, w[d].suf[2], dt),
        key2(13, w[h].suf[1], ht),
        key3(14, dt, first_child_t, ht),
        key3(15, dt, last_child_t, ht),
        key3(16, dt, dchildren.len().min(4) as u64, dir),
        key3(17, dt, ht, puncts_between),
        key3(18, dt, ht, hh),
        key3(19, dt, prev_t, next_t),
        key3(20, dt, ht, w[d].raw),
        key2(21, key2(0, dt, ht), dir ^ (u64::from(d == 0) << 1)),
        key2(22, w[d].shape, dt),
    ]);
    for &c in near(dchildren, d, WINDOW) {
        if matches!(
            tags[c],
            Upos::Adp | Upos::Sconj | Upos::Part | Upos::Det | Upos::Aux | Upos::Pron | Upos::Cconj
        ) {
            out.push(key3(30, w[c].lc, dt, ht));
            out.push(key3(31, w[c].lc, dir, dt));
        }
    }
    for &c in near(&children[h], h, WINDOW) {
        if c != d && matches!(tags[c], Upos::Aux | Upos::Part | Upos::Sconj | Upos::Adp) {
            out.push(key3(32, w[c].lc, dir, dt));
        }
    }
    for c in [d.checked_sub(1), Some(d + 1)].into_iter().flatten() {
        if c < w.len() && heads[c] == Some(h) {
            out.push(key3(33, tag(c), dt, u64::from(c < d)));
        }
    }
}

/// Children considered for function-word features lie within this distance, which keeps
/// labelling linear even for pathological flat trees.
const WINDOW: usize = 6;

/// The part of a sorted child list within `radius` of `center`.
fn near(children: &[usize], center: usize, radius: usize) -> &[usize] {
    let lo = children.partition_point(|&c| c + radius < center);
    let hi = children.partition_point(|&c| c <= center + radius);
    &children[lo..hi.max(lo)]
}

/// `prefix[i]` = punctuation tokens before word `i`.
fn punct_prefix(tags: &[Upos]) -> Vec<usize> {
    let mut prefix = Vec::with_capacity(tags.len() + 1);
    let mut n = 0;
    prefix.push(0);
    for t in tags {
        n += usize::from(*t == Upos::Punct);
        prefix.push(n);
    }
    prefix
}

fn children_of(heads: &[Option<usize>]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); heads.len()];
    for (d, h) in heads.iter().enumerate() {
        if let Some(h) = *h {
            if h < heads.len() {
                children[h].push(d);
            }
        }
    }
    children
}

impl Labeller {
    /// A labeller without weights.
    pub fn untrained() -> Labeller {
        Labeller {
            model: Model::empty(DEPRELS.len()),
        }
    }

    /// Relation per word of a tree.
    pub fn label(&self, words: &[&str], tags: &[Upos], heads: &[Option<usize>]) -> Vec<&'static str> {
        self.label_feats(&word_feats(words), tags, heads)
    }

    pub(crate) fn label_feats(&self, w: &[WordFeats], tags: &[Upos], heads: &[Option<usize>]) -> Vec<&'static str> {
        let children = children_of(heads);
        let prefix = punct_prefix(tags);
        let root = root_class();
        let mut feats = Vec::with_capacity(48);
        let mut scores = vec![0.0f32; DEPRELS.len()];
        (0..w.len())
            .map(|d| match heads[d] {
                Some(h) if h < w.len() => {
                    label_features(w, tags, &prefix, &children, heads, d, h, &mut feats);
                    self.model.scores(&feats, &mut scores);
                    let best = argmax_allowed(&scores, |c| c != root).unwrap_or(0);
                    DEPRELS[best]
                }
                _ => DEPRELS[root],
            })
            .collect()
    }

    /// Trains on gold trees with the given tags per sentence.
    pub fn train(
        sentences: &[GoldSentence],
        tags: &[Vec<Upos>],
        iterations: usize,
        seed: u64,
        max_rows: usize,
    ) -> Labeller {
        let mut trainer = Trainer::new(DEPRELS.len());
        let mut rng = Rng::new(seed);
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        let cached: Vec<Vec<WordFeats>> = sentences.iter().map(|s| word_feats(&s.word_refs())).collect();
        let root = root_class();
        let mut feats = Vec::with_capacity(48);
        let mut scores = vec![0.0; DEPRELS.len()];
        for _ in 0..iterations {
            rng.shuffle(&mut order);
            for &si in &order {
                let s = &sentences[si];
                let children = children_of(&s.heads);
                let prefix = punct_prefix(&tags[si]);
                for d in 0..s.words.len() {
                    let Some(h) = s.heads[d] else { continue };
                    let Some(gold) = intern_deprel(&s.deprels[d]).and_then(|g| DEPRELS.iter().position(|x| *x == g))
                    else {
                        continue;
                    };
                    label_features(&cached[si], &tags[si], &prefix, &children, &s.heads, d, h, &mut feats);
                    trainer.scores(&feats, &mut scores);
                    let guess = argmax_allowed(&scores, |c| c != root).unwrap_or(0);
                    trainer.update(&feats, gold, guess);
                    trainer.tick();
                }
            }
        }
        Labeller {
            model: trainer.finish(max_rows),
        }
    }

    /// Number of stored feature rows.
    pub fn size(&self) -> usize {
        self.model.len()
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.model.write(out);
    }

    pub(crate) fn read(input: &mut &[u8]) -> Result<Labeller, NlpError> {
        let model = Model::read(input)?;
        if model.classes() != DEPRELS.len() {
            return Err(NlpError::Format("labeller class count".into()));
        }
        Ok(Labeller { model })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_reaches_gold_projective_tree() {
        // "She saw him today": saw is root, She/him/today depend on saw.
        let gold = [1, 4, 1, 1];
        let mut st = State::new(4);
        while !st.done() {
            let m = (0..MOVES)
                .filter(|&m| st.valid(m))
                .min_by_key(|&m| st.cost(m, &gold))
                .unwrap();
            st.apply(m);
        }
        let heads: Vec<usize> = st.heads.iter().map(|h| h.unwrap()).collect();
        assert_eq!(heads, gold);
    }

    #[test]
    fn single_root_enforced() {
        let mut heads = vec![None, Some(0), None];
        single_root(&mut heads, &[Upos::Noun, Upos::Det, Upos::Verb]);
        assert_eq!(heads, [Some(2), Some(0), None]);
    }
}
