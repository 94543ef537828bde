//! Background document frequencies: how common each content term is in general text (the
//! GUM corpus, CC-BY; built by `examples/background_df.rs`), added to a feed's own counts so
//! that inverse document frequencies are sensible from the feed's first article on. Terms
//! seen in one document only are left out (the feed's own counts decide those).

use std::{collections::HashMap, sync::LazyLock};

use super::terms::hash_str;
use crate::summarize::extractive::for_each_content_stem;

const MAGIC: &[u8; 8] = b"NGDF0001";

static EMBEDDED: LazyLock<BackgroundDf> = LazyLock::new(|| {
    BackgroundDf::from_bytes(include_bytes!("../../models/digest/background-df.bin"))
        .expect("models/digest/background-df.bin is a background-df file")
});

/// Document frequencies of a background corpus.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BackgroundDf {
    documents: u32,
    df: HashMap<u64, u32>,
}

impl BackgroundDf {
    /// The embedded table.
    pub fn embedded() -> &'static BackgroundDf {
        &EMBEDDED
    }

    /// Counts the content terms of `documents`, keeping those in two or more.
    pub fn count<'a>(documents: impl Iterator<Item = &'a str>) -> BackgroundDf {
        let mut table = BackgroundDf::default();
        let mut scratch = String::new();
        for text in documents {
            let mut terms = Vec::new();
            for_each_content_stem(text, &mut scratch, |stem| terms.push(hash_str(stem)));
            terms.sort_unstable();
            terms.dedup();
            for t in terms {
                *table.df.entry(t).or_insert(0) += 1;
            }
            table.documents += 1;
        }
        table.df.retain(|_, n| *n >= 2);
        table
    }

    pub fn documents(&self) -> u32 {
        self.documents
    }

    pub fn terms(&self) -> usize {
        self.df.len()
    }

    pub fn df(&self, term: u64) -> u32 {
        self.df.get(&term).copied().unwrap_or(0)
    }

    /// `MAGIC`, documents (u32 LE), then (term u64 LE, df u32 LE) sorted by term.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut pairs: Vec<(u64, u32)> = self.df.iter().map(|(&t, &n)| (t, n)).collect();
        pairs.sort_unstable();
        let mut out = Vec::with_capacity(12 + 12 * pairs.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.documents.to_le_bytes());
        for (t, n) in pairs {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<BackgroundDf> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let documents = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
        let pairs = &rest[4..];
        if pairs.len() % 12 != 0 {
            return None;
        }
        let df = pairs
            .chunks_exact(12)
            .map(|c| {
                let term = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
                let n = u32::from_le_bytes(c[8..].try_into().expect("4 bytes"));
                (term, n)
            })
            .collect();
        Some(BackgroundDf { documents, df })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_survives_its_bytes_and_the_embedded_one_knows_common_words() {
        let table = BackgroundDf::count(["the mayor spoke", "a mayor listened", "rain fell"].into_iter());
        assert_eq!(table.documents(), 3);
        assert_eq!(table.terms(), 1, "only terms in two documents are kept");
        assert_eq!(BackgroundDf::from_bytes(&table.to_bytes()), Some(table));
        assert_eq!(BackgroundDf::from_bytes(b"nonsense"), None);
        let embedded = BackgroundDf::embedded();
        let term = |word: &str| {
            let mut t = 0;
            for_each_content_stem(word, &mut String::new(), |s| t = hash_str(s));
            t
        };
        assert!(embedded.df(term("people")) > embedded.df(term("toblerone")));
    }
}
