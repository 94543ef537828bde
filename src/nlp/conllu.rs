//! Reading GUM training data: CoNLL-U sentences with MISC `Entity=` mention spans, and the
//! corpus's `splits.md`.

use std::ops::Range;
use std::path::Path;

use super::{EntityKind, NlpError, Upos};

/// A gold mention span over word indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldMention {
    /// Word indices (end exclusive).
    pub tokens: Range<usize>,
    /// GUM entity type.
    pub kind: EntityKind,
}

/// One gold sentence (syntactic words; multi-word token lines are skipped).
#[derive(Clone, Debug, Default)]
pub struct GoldSentence {
    /// The `# text =` line.
    pub text: String,
    /// Word forms.
    pub words: Vec<String>,
    /// UPOS per word.
    pub upos: Vec<Upos>,
    /// 0-based head per word; `None` for the root.
    pub heads: Vec<Option<usize>>,
    /// Dependency relation per word, as annotated.
    pub deprels: Vec<String>,
    /// All mention spans, nested ones included.
    pub mentions: Vec<GoldMention>,
    /// Only named entities are annotated (NER data such as wikigold): other mentions are
    /// missing and there is no POS or tree annotation.
    pub names_only: bool,
}

impl GoldSentence {
    /// Word forms as string slices.
    pub fn word_refs(&self) -> Vec<&str> {
        self.words.iter().map(String::as_str).collect()
    }
}

/// Parses CoNLL-U text. Malformed word lines are skipped; unknown UPOS become `X`.
pub fn parse(text: &str) -> Vec<GoldSentence> {
    let mut out = Vec::new();
    let mut cur = GoldSentence::default();
    // Open mentions: (entity id, kind, start word).
    let mut open: Vec<(String, Option<EntityKind>, usize)> = Vec::new();
    let mut finish = |cur: &mut GoldSentence, open: &mut Vec<_>| {
        open.clear();
        if !cur.words.is_empty() {
            out.push(std::mem::take(cur));
        } else {
            *cur = GoldSentence::default();
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish(&mut cur, &mut open);
            continue;
        }
        if let Some(t) = line.strip_prefix("# text = ") {
            cur.text = t.to_string();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 10 || cols[0].contains(['-', '.']) {
            continue;
        }
        let index = cur.words.len();
        cur.words.push(cols[1].to_string());
        cur.upos.push(Upos::parse(cols[3]).unwrap_or(Upos::X));
        cur.heads
            .push(cols[6].parse::<usize>().ok().and_then(|h| h.checked_sub(1)));
        cur.deprels.push(cols[7].to_string());
        if let Some(ent) = cols[9].split('|').find_map(|f| f.strip_prefix("Entity=")) {
            read_entity_field(ent, index, &mut open, &mut cur.mentions);
        }
    }
    finish(&mut cur, &mut open);
    for s in &mut out {
        let n = s.words.len();
        s.heads.iter_mut().for_each(|h| {
            if h.is_some_and(|h| h >= n) {
                *h = None;
            }
        });
        s.mentions
            .sort_by_key(|m| (m.tokens.start, std::cmp::Reverse(m.tokens.end)));
        s.mentions.dedup();
    }
    out
}

/// Applies one token's `Entity=` value: `(id-type-...` opens, `id)` closes, `(id-type-...)`
/// is a single-token mention.
fn read_entity_field(
    field: &str,
    index: usize,
    open: &mut Vec<(String, Option<EntityKind>, usize)>,
    mentions: &mut Vec<GoldMention>,
) {
    let mut rest = field;
    while !rest.is_empty() {
        if let Some(body) = rest.strip_prefix('(') {
            let end = body.find(['(', ')']).unwrap_or(body.len());
            let spec = &body[..end];
            let mut parts = spec.split('-');
            let id = parts.next().unwrap_or("").to_string();
            let kind = parts.next().and_then(EntityKind::parse);
            if body[end..].starts_with(')') {
                if let Some(kind) = kind {
                    mentions.push(GoldMention {
                        tokens: index..index + 1,
                        kind,
                    });
                }
                rest = &body[end + 1..];
            } else {
                open.push((id, kind, index));
                rest = &body[end..];
            }
        } else {
            let end = rest.find(')').unwrap_or(rest.len());
            let id = &rest[..end];
            if let Some(pos) = open.iter().rposition(|(o, _, _)| o == id) {
                let (_, kind, start) = open.remove(pos);
                if let Some(kind) = kind {
                    mentions.push(GoldMention {
                        tokens: start..index + 1,
                        kind,
                    });
                }
            }
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
}

/// Parses CoNLL-2003 style `word TAG` lines (IOB1 or IOB2) as name-only sentences:
/// PER, LOC and ORG become person, place and organization; other types are dropped.
pub fn parse_iob(text: &str) -> Vec<GoldSentence> {
    let mut out = Vec::new();
    let mut cur = GoldSentence {
        names_only: true,
        ..GoldSentence::default()
    };
    let mut open: Option<(usize, String)> = None;
    let close = |cur: &mut GoldSentence, open: &mut Option<(usize, String)>| {
        if let Some((start, ty)) = open.take() {
            let kind = match ty.as_str() {
                "PER" => Some(EntityKind::Person),
                "LOC" => Some(EntityKind::Place),
                "ORG" => Some(EntityKind::Organization),
                _ => None,
            };
            if let Some(kind) = kind {
                cur.mentions.push(GoldMention {
                    tokens: start..cur.words.len(),
                    kind,
                });
            }
        }
    };
    for line in text.lines().chain(std::iter::once("")) {
        let mut cols = line.split_whitespace();
        let (Some(word), Some(tag)) = (cols.next(), cols.last()) else {
            close(&mut cur, &mut open);
            if !cur.words.is_empty() {
                out.push(std::mem::replace(
                    &mut cur,
                    GoldSentence {
                        names_only: true,
                        ..GoldSentence::default()
                    },
                ));
            }
            continue;
        };
        let (prefix, ty) = tag.split_once('-').unwrap_or((tag, ""));
        let continues = prefix == "I" && open.as_ref().is_some_and(|(_, t)| t == ty);
        if !continues {
            close(&mut cur, &mut open);
            if prefix == "I" || prefix == "B" {
                open = Some((cur.words.len(), ty.to_string()));
            }
        }
        cur.words.push(word.to_string());
    }
    out
}

/// Document names per split, read from GUM's `splits.md` (`## train` followed by
/// `  * GUM_...` lines).
#[derive(Clone, Debug, Default)]
pub struct Splits {
    /// Training documents.
    pub train: Vec<String>,
    /// Development documents.
    pub dev: Vec<String>,
    /// Test documents.
    pub test: Vec<String>,
}

/// Parses `splits.md`.
pub fn parse_splits(md: &str) -> Splits {
    let mut splits = Splits::default();
    let mut section = "";
    for line in md.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            section = name.trim();
        } else if let Some(doc) = line.trim().strip_prefix("* ") {
            let doc = doc.trim().to_string();
            match section {
                "train" => splits.train.push(doc),
                "dev" => splits.dev.push(doc),
                "test" => splits.test.push(doc),
                _ => {}
            }
        }
    }
    splits
}

/// Reads the named documents from `dir/<doc>.conllu`, skipping documents that are absent.
/// Returns the sentences and the number of documents found.
pub fn load_documents(dir: &Path, docs: &[String]) -> Result<(Vec<GoldSentence>, usize), NlpError> {
    let mut sentences = Vec::new();
    let mut found = 0;
    for doc in docs {
        let path = dir.join(format!("{doc}.conllu"));
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| NlpError::Io {
            path: path.display().to_string(),
            source,
        })?;
        sentences.extend(parse(&text));
        found += 1;
    }
    Ok((sentences, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# sent_id = x-1\n# text = U.S. President Donald Trump's ban\n\
1\tU.S.\tU.S.\tPROPN\tNNP\t_\t3\tcompound\t_\tEntity=(21-abstract-new(22-person-new-coref-Donald_Trump(18-place-giv-coref-United_States)\n\
2\tPresident\tPresident\tPROPN\tNNP\t_\t3\tnmod:desc\t_\t_\n\
3-4\tTrump's\t_\t_\t_\t_\t_\t_\t_\t_\n\
3\tTrump\tTrump\tPROPN\tNNP\t_\t5\tnmod:poss\t_\t_\n\
4\t's\t's\tPART\tPOS\t_\t3\tcase\t_\tEntity=22)\n\
5\tban\tban\tNOUN\tNN\t_\t0\troot\t_\tEntity=21)|SpaceAfter=No\n\n";

    #[test]
    fn reads_words_trees_and_nested_mentions() {
        let s = parse(SAMPLE);
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.words, ["U.S.", "President", "Trump", "'s", "ban"]);
        assert_eq!(s.heads, [Some(2), Some(2), Some(4), Some(2), None]);
        assert_eq!(s.upos[3], Upos::Part);
        assert_eq!(
            s.mentions,
            [
                GoldMention {
                    tokens: 0..5,
                    kind: EntityKind::Abstract
                },
                GoldMention {
                    tokens: 0..4,
                    kind: EntityKind::Person
                },
                GoldMention {
                    tokens: 0..1,
                    kind: EntityKind::Place
                },
            ]
        );
    }

    #[test]
    fn reads_iob_names() {
        let s = parse_iob("The I-ORG\nMad I-ORG\nband O\nin O\nTokyo I-LOC\nJapanese I-MISC\n\nKim B-PER\nLee B-PER\n");
        assert_eq!(s.len(), 2);
        assert!(s[0].names_only);
        assert_eq!(
            s[0].mentions,
            [
                GoldMention {
                    tokens: 0..2,
                    kind: EntityKind::Organization
                },
                GoldMention {
                    tokens: 4..5,
                    kind: EntityKind::Place
                },
            ]
        );
        assert_eq!(s[1].mentions.len(), 2);
    }

    #[test]
    fn reads_splits() {
        let s = parse_splits("## dev\n\n  * A\n## test\n  * B\n## train\n  * C\n  * D\n");
        assert_eq!((s.dev.len(), s.test.len(), s.train.len()), (1, 1, 2));
    }
}
