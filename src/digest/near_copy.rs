//! Syndicated near-copies: the same text under another headline, a paragraph dropped, a wire
//! credit added. MinHash signatures of word 3-shingles estimate the Jaccard similarity of two
//! bodies; locality-sensitive hashing over bands of the signature finds the candidates without
//! comparing every pair, so the cost per article stays flat however long the feed.
//!
//! A copy is judged by *containment* (how much of the shorter text is in the longer), which a
//! dropped paragraph or an added credit barely moves, while two outlets writing up the same
//! event share far less of their wording.

use std::collections::HashMap;

/// Hash functions in a signature.
const HASHES: usize = 64;
/// Rows per LSH band: 21 bands of 3 find a pair with Jaccard 0.5 with probability 0.94 and
/// one at 0.7 with probability above 0.999.
const BAND_ROWS: usize = 3;
const BANDS: usize = HASHES / BAND_ROWS;
/// Fewer distinct shingles than this (a two-line brief) is too little text to call a copy.
const MIN_SHINGLES: usize = 8;
/// A copy shares this share of the shorter body's shingles with the original.
const MIN_CONTAINMENT: f32 = 0.8;
/// ... and this much Jaccard similarity, so that a short brief quoted inside a long feature
/// is not taken for a copy of it.
const MIN_JACCARD: f32 = 0.35;

/// The MinHash signature of a body and its number of distinct shingles.
#[derive(Debug, Clone)]
pub(super) struct Signature {
    mins: [u64; HASHES],
    shingles: usize,
}

impl Signature {
    /// Signature of `body`; `None` when it has too few words to judge.
    pub(super) fn of(body: &str) -> Option<Signature> {
        let words: Vec<u64> = body
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| super::terms::hash_str(&w.to_lowercase()))
            .collect();
        let mut shingles: Vec<u64> = words.windows(3).map(|w| mix(w[0] ^ mix(w[1] ^ mix(w[2])))).collect();
        shingles.sort_unstable();
        shingles.dedup();
        if shingles.len() < MIN_SHINGLES {
            return None;
        }
        let mut mins = [u64::MAX; HASHES];
        for &s in &shingles {
            // h_i = h1 + i * h2 (Kirsch and Mitzenmacher): one mix per shingle instead of 64.
            let h1 = s;
            let h2 = mix(s) | 1;
            for (i, m) in mins.iter_mut().enumerate() {
                let h = mix(h1.wrapping_add((i as u64).wrapping_mul(h2)));
                *m = (*m).min(h);
            }
        }
        Some(Signature {
            mins,
            shingles: shingles.len(),
        })
    }

    fn jaccard(&self, other: &Signature) -> f32 {
        let same = self.mins.iter().zip(&other.mins).filter(|(a, b)| a == b).count();
        same as f32 / HASHES as f32
    }

    /// True when one body is a near-copy of the other.
    pub(super) fn is_copy_of(&self, other: &Signature) -> bool {
        let j = self.jaccard(other);
        if j < MIN_JACCARD {
            return false;
        }
        // |A n B| = J (|A| + |B|) / (1 + J)
        let (a, b) = (self.shingles as f32, other.shingles as f32);
        let shared = j * (a + b) / (1.0 + j);
        shared / a.min(b) >= MIN_CONTAINMENT
    }

    fn band_keys(&self) -> impl Iterator<Item = u64> + '_ {
        (0..BANDS).map(move |band| {
            let rows = &self.mins[band * BAND_ROWS..(band + 1) * BAND_ROWS];
            rows.iter().fold(mix(band as u64), |h, &r| mix(h ^ r))
        })
    }
}

/// A 64-bit finaliser (splitmix64): spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The signatures of the articles still in open stories, by article key, with their bands.
#[derive(Debug, Default)]
pub(super) struct CopyIndex {
    signatures: HashMap<u64, Signature>,
    bands: HashMap<u64, Vec<u64>>,
}

impl CopyIndex {
    /// The indexed article that `signature` copies (or is copied by), the most similar first
    /// if several are.
    pub(super) fn find(&self, signature: &Signature) -> Option<u64> {
        let mut best: Option<(u64, f32)> = None;
        for key in signature.band_keys() {
            for &article in self.bands.get(&key).into_iter().flatten() {
                let Some(other) = self.signatures.get(&article) else {
                    continue;
                };
                if signature.is_copy_of(other) {
                    let j = signature.jaccard(other);
                    if best.is_none_or(|(a, b)| j > b || (j == b && article < a)) {
                        best = Some((article, j));
                    }
                }
            }
        }
        best.map(|(article, _)| article)
    }

    pub(super) fn insert(&mut self, article: u64, signature: Signature) {
        for key in signature.band_keys() {
            self.bands.entry(key).or_default().push(article);
        }
        self.signatures.insert(article, signature);
    }

    /// Forgets articles whose stories have closed: they can no longer gain a copy.
    pub(super) fn remove(&mut self, article: u64) {
        if let Some(signature) = self.signatures.remove(&article) {
            for key in signature.band_keys() {
                if let Some(list) = self.bands.get_mut(&key) {
                    list.retain(|&a| a != article);
                    if list.is_empty() {
                        self.bands.remove(&key);
                    }
                }
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.signatures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "The city council voted on Tuesday to close the old harbour bridge for repairs that \
        will take two years.\n\nEngineers found cracks in three of the bridge's steel supports during an \
        inspection in March, the council said.\n\nTraffic will be sent over the ring road, adding about ten \
        minutes to journeys into the centre.\n\nLocal shops fear the closure will keep customers away during \
        the busy summer months.";

    #[test]
    fn a_copy_with_a_dropped_paragraph_and_a_credit_is_found() {
        let original = Signature::of(ORIGINAL).unwrap();
        let cut = ORIGINAL.rsplit_once("\n\n").unwrap().0;
        let copy = Signature::of(&format!("{cut}\n\n(Reporting by a wire service.)")).unwrap();
        assert!(copy.is_copy_of(&original));
        let mut index = CopyIndex::default();
        index.insert(7, original);
        assert_eq!(index.find(&copy), Some(7));
        index.remove(7);
        assert_eq!(index.find(&copy), None);
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn another_write_up_of_the_same_event_is_not_a_copy() {
        let other = "Repairs to the harbour bridge will shut it for two years, councillors decided \
            on Tuesday, after an inspection in March revealed cracked supports. Drivers face a detour \
            via the ring road and traders worry about losing summer trade.";
        let a = Signature::of(ORIGINAL).unwrap();
        let b = Signature::of(other).unwrap();
        assert!(!a.is_copy_of(&b) && !b.is_copy_of(&a));
    }

    #[test]
    fn too_short_a_text_has_no_signature() {
        assert!(Signature::of("Rain fell.").is_none());
    }
}
