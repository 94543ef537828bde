//! Per-word hashed attributes shared by the tagger, parser, labeller and entity tagger.

use super::perceptron::hash_bytes;

/// Hashes of one word's surface attributes, computed once per sentence.
#[derive(Clone, Debug)]
pub(crate) struct WordFeats {
    /// Lower-cased form with digits folded to `0`, so numbers generalise.
    pub lc: u64,
    /// Exact form (keeps case: "US" vs "us").
    pub raw: u64,
    /// Character-class shape with long runs collapsed ("Kim" -> "Xxx", "2018" -> "dd").
    pub shape: u64,
    /// Suffixes of 1..=4 characters of the normalised form.
    pub suf: [u64; 4],
    /// Prefixes of 1..=3 characters of the normalised form.
    pub pref: [u64; 3],
    /// First character is upper-case.
    pub title: bool,
}

/// Hash for positions outside the sentence (padding).
pub(crate) const PAD: u64 = 0x5bd1_e995_0000_0001;
/// Hash standing for the artificial root token in the parser.
pub(crate) const ROOT: u64 = 0x27d4_eb2f_1656_67c5;

fn normalise(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

fn shape(word: &str) -> String {
    let mut out = String::new();
    let mut last = '\0';
    let mut run = 0;
    for c in word.chars() {
        let s = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if s == last {
            run += 1;
        } else {
            run = 1;
            last = s;
        }
        if run <= 2 {
            out.push(s);
        }
    }
    out
}

/// Attributes of every word of a sentence.
pub(crate) fn word_feats(words: &[&str]) -> Vec<WordFeats> {
    words
        .iter()
        .map(|w| {
            let norm = normalise(w);
            let chars: Vec<(usize, char)> = norm.char_indices().collect();
            let n = chars.len();
            let suf = std::array::from_fn(|k| {
                let start = if k < n { chars[n - 1 - k].0 } else { 0 };
                hash_bytes(&norm.as_bytes()[start..]) ^ (k as u64 + 1)
            });
            let pref = std::array::from_fn(|k| {
                let end = chars.get(k + 1).map_or(norm.len(), |c| c.0);
                hash_bytes(&norm.as_bytes()[..end]) ^ (k as u64 + 11)
            });
            WordFeats {
                lc: hash_bytes(norm.as_bytes()),
                raw: hash_bytes(w.as_bytes()) ^ 7,
                shape: hash_bytes(shape(w).as_bytes()) ^ 13,
                suf,
                pref,
                title: w.chars().next().is_some_and(char::is_uppercase),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_normalisation() {
        assert_eq!(shape("Kim"), "Xxx");
        assert_eq!(shape("2018"), "dd");
        assert_eq!(shape("U.S."), "X.X.");
        assert_eq!(normalise("Year2018"), "year0000");
        let f = word_feats(&["Beijing", "beijing", "", "é"]);
        assert_eq!(f[0].lc, f[1].lc);
        assert_ne!(f[0].raw, f[1].raw);
        assert!(f[0].title && !f[1].title);
    }
}
