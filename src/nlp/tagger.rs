//! Greedy left-to-right UPOS tagger (averaged perceptron).

use super::conllu::GoldSentence;
use super::features::{word_feats, WordFeats, PAD};
use super::perceptron::{argmax_allowed, key1, key2, key3, Model, Rng, Trainer};
use super::{NlpError, Upos};

/// UPOS tagger.
pub struct Tagger {
    model: Model,
}

const START: u64 = 0x1111;

fn tag_hash(t: Option<Upos>) -> u64 {
    t.map_or(START, |t| t.index() as u64 + 1)
}

fn features(w: &[WordFeats], i: usize, prev: Option<Upos>, prev2: Option<Upos>, out: &mut Vec<u64>) {
    out.clear();
    let at = |k: isize| -> Option<&WordFeats> { usize::try_from(i as isize + k).ok().and_then(|j| w.get(j)) };
    let lc = |k| at(k).map_or(PAD, |f| f.lc);
    let me = &w[i];
    let (p1, p2) = (tag_hash(prev), tag_hash(prev2));
    out.extend_from_slice(&[
        key1(0, 0),
        key1(1, me.lc),
        key1(2, me.raw),
        key1(3, me.shape),
        key1(4, me.suf[0]),
        key1(5, me.suf[1]),
        key1(6, me.suf[2]),
        key1(7, me.suf[3]),
        key1(8, me.pref[0]),
        key1(9, me.pref[2]),
        key1(10, p1),
        key2(11, p1, p2),
        key2(12, p1, me.lc),
        key1(13, lc(-1)),
        key1(14, lc(1)),
        key1(15, lc(-2)),
        key1(16, lc(2)),
        key1(17, at(-1).map_or(PAD, |f| f.suf[2])),
        key1(18, at(1).map_or(PAD, |f| f.suf[2])),
        key1(19, at(1).map_or(PAD, |f| f.shape)),
        key1(20, at(-1).map_or(PAD, |f| f.shape)),
        key2(21, me.lc, lc(1)),
        key2(22, lc(-1), me.lc),
        key2(23, (i == 0) as u64, me.shape),
        key2(24, p1, me.suf[2]),
        key3(25, p1, me.shape, at(1).map_or(PAD, |f| f.shape)),
        key1(26, at(2).map_or(PAD, |f| f.suf[2])),
    ]);
}

impl Tagger {
    /// A tagger without weights.
    pub fn untrained() -> Tagger {
        Tagger {
            model: Model::empty(Upos::ALL.len()),
        }
    }

    /// Tags words.
    pub fn tag(&self, words: &[&str]) -> Vec<Upos> {
        self.tag_feats(&word_feats(words))
    }

    pub(crate) fn tag_feats(&self, w: &[WordFeats]) -> Vec<Upos> {
        let mut tags: Vec<Upos> = Vec::with_capacity(w.len());
        let mut feats = Vec::with_capacity(32);
        let mut scores = vec![0.0f32; Upos::ALL.len()];
        for i in 0..w.len() {
            let prev = i.checked_sub(1).map(|j| tags[j]);
            let prev2 = i.checked_sub(2).map(|j| tags[j]);
            features(w, i, prev, prev2, &mut feats);
            self.model.scores(&feats, &mut scores);
            let best = argmax_allowed(&scores, |_| true).unwrap_or(0);
            tags.push(Upos::ALL[best]);
        }
        tags
    }

    /// Trains on gold sentences for `iterations` epochs in a seeded shuffled order, keeping
    /// the `max_rows` feature rows with the largest weights.
    pub fn train(sentences: &[GoldSentence], iterations: usize, seed: u64, max_rows: usize) -> Tagger {
        let mut trainer = Trainer::new(Upos::ALL.len());
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        let mut rng = Rng::new(seed);
        let cached: Vec<Vec<WordFeats>> = sentences.iter().map(|s| word_feats(&s.word_refs())).collect();
        let mut feats = Vec::with_capacity(32);
        let mut scores = vec![0.0; Upos::ALL.len()];
        for _ in 0..iterations {
            rng.shuffle(&mut order);
            for &si in &order {
                let w = &cached[si];
                let gold = &sentences[si].upos;
                let mut tags: Vec<Upos> = Vec::with_capacity(w.len());
                for (i, truth) in gold.iter().enumerate() {
                    let prev = i.checked_sub(1).map(|j| tags[j]);
                    let prev2 = i.checked_sub(2).map(|j| tags[j]);
                    features(w, i, prev, prev2, &mut feats);
                    trainer.scores(&feats, &mut scores);
                    let guess = argmax_allowed(&scores, |_| true).unwrap_or(0);
                    trainer.update(&feats, truth.index(), guess);
                    trainer.tick();
                    tags.push(Upos::ALL[guess]);
                }
            }
        }
        Tagger {
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

    pub(crate) fn read(input: &mut &[u8]) -> Result<Tagger, NlpError> {
        let model = Model::read(input)?;
        if model.classes() != Upos::ALL.len() {
            return Err(NlpError::Format("tagger class count".into()));
        }
        Ok(Tagger { model })
    }
}
