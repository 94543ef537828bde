//! Small, fast English NLP pipeline: tokeniser, UPOS tagger, dependency parser and entity
//! mention tagger, all trained by `examples/train_nlp.rs` from the GUM corpus and embedded in
//! the binary (`models/nlp/nlp.bin`).
//!
//! The models are averaged perceptrons over hashed features, quantised to `i8`:
//! a greedy left-to-right tagger, a greedy arc-hybrid parser trained with a dynamic oracle,
//! a separate arc labeller and two BIO taggers for entity mentions (outermost and innermost
//! GUM mention layers).

pub mod conllu;
pub mod entities;
pub(crate) mod features;
pub mod parser;
pub(crate) mod perceptron;
pub mod places;
pub mod tagger;
pub mod tokenize;

use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

pub use entities::EntityTagger;
pub use parser::{Labeller, Parser};
pub use tagger::Tagger;

/// Errors from loading or training the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum NlpError {
    /// Reading a model or corpus file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A model file is malformed.
    #[error("bad model data: {0}")]
    Format(String),
}

/// Universal POS tags (UD v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Upos {
    Adj,
    Adp,
    Adv,
    Aux,
    Cconj,
    Det,
    Intj,
    Noun,
    Num,
    Part,
    Pron,
    Propn,
    Punct,
    Sconj,
    Sym,
    Verb,
    X,
}

impl Upos {
    /// All tags in class-index order.
    pub const ALL: [Upos; 17] = [
        Upos::Adj,
        Upos::Adp,
        Upos::Adv,
        Upos::Aux,
        Upos::Cconj,
        Upos::Det,
        Upos::Intj,
        Upos::Noun,
        Upos::Num,
        Upos::Part,
        Upos::Pron,
        Upos::Propn,
        Upos::Punct,
        Upos::Sconj,
        Upos::Sym,
        Upos::Verb,
        Upos::X,
    ];

    /// The UD name, e.g. `"PROPN"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Upos::Adj => "ADJ",
            Upos::Adp => "ADP",
            Upos::Adv => "ADV",
            Upos::Aux => "AUX",
            Upos::Cconj => "CCONJ",
            Upos::Det => "DET",
            Upos::Intj => "INTJ",
            Upos::Noun => "NOUN",
            Upos::Num => "NUM",
            Upos::Part => "PART",
            Upos::Pron => "PRON",
            Upos::Propn => "PROPN",
            Upos::Punct => "PUNCT",
            Upos::Sconj => "SCONJ",
            Upos::Sym => "SYM",
            Upos::Verb => "VERB",
            Upos::X => "X",
        }
    }

    /// Parses a UD name.
    pub fn parse(s: &str) -> Option<Upos> {
        Upos::ALL.iter().copied().find(|u| u.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Entity types of GUM's mention annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EntityKind {
    Person,
    Place,
    Organization,
    Time,
    Event,
    Abstract,
    Object,
    Substance,
    Animal,
    Plant,
}

impl EntityKind {
    /// All kinds in class-index order.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::Person,
        EntityKind::Place,
        EntityKind::Organization,
        EntityKind::Time,
        EntityKind::Event,
        EntityKind::Abstract,
        EntityKind::Object,
        EntityKind::Substance,
        EntityKind::Animal,
        EntityKind::Plant,
    ];

    /// GUM's name, e.g. `"organization"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Place => "place",
            EntityKind::Organization => "organization",
            EntityKind::Time => "time",
            EntityKind::Event => "event",
            EntityKind::Abstract => "abstract",
            EntityKind::Object => "object",
            EntityKind::Substance => "substance",
            EntityKind::Animal => "animal",
            EntityKind::Plant => "plant",
        }
    }

    /// Parses GUM's name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Dependency relations the labeller can produce (UD v2 with GUM's subtypes). Training labels
/// outside this list fall back to their universal part before the colon.
pub const DEPRELS: &[&str] = &[
    "acl",
    "acl:relcl",
    "advcl",
    "advcl:relcl",
    "advmod",
    "amod",
    "appos",
    "aux",
    "aux:pass",
    "case",
    "cc",
    "cc:preconj",
    "ccomp",
    "clf",
    "compound",
    "compound:prt",
    "conj",
    "cop",
    "csubj",
    "csubj:outer",
    "csubj:pass",
    "dep",
    "det",
    "det:predet",
    "discourse",
    "dislocated",
    "expl",
    "fixed",
    "flat",
    "goeswith",
    "iobj",
    "list",
    "mark",
    "nmod",
    "nmod:desc",
    "nmod:poss",
    "nmod:unmarked",
    "nsubj",
    "nsubj:outer",
    "nsubj:pass",
    "nummod",
    "obj",
    "obl",
    "obl:agent",
    "obl:unmarked",
    "orphan",
    "parataxis",
    "punct",
    "reparandum",
    "root",
    "vocative",
    "xcomp",
];

/// The `&'static` name of a relation, or of its universal part, if known.
pub fn intern_deprel(label: &str) -> Option<&'static str> {
    let find = |l: &str| DEPRELS.iter().copied().find(|d| *d == l);
    find(label).or_else(|| find(label.split(':').next().unwrap_or(label)))
}

/// One analysed word token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte range into the text passed to [`Pipeline::analyze`].
    pub range: Range<usize>,
    /// Universal POS tag.
    pub upos: Upos,
    /// Index of the syntactic head within the sentence; `None` for the root.
    pub head: Option<usize>,
    /// UD dependency relation to the head (`"root"` for the root).
    pub deprel: &'static str,
}

/// An entity mention (GUM style: named or not, e.g. "Kim Jong-Un" or "the man").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// Token indices within the sentence.
    pub tokens: Range<usize>,
    /// Byte range into the text.
    pub range: Range<usize>,
    /// Entity type.
    pub kind: EntityKind,
    /// The mention contains a proper noun, i.e. it looks like (or contains) a name.
    pub proper: bool,
    /// Token index of the mention's syntactic head (the token whose head lies outside it).
    pub head: usize,
    /// Token indices of the proper-name part (a run of proper nouns, e.g. "Kim Jong-Un" in
    /// "North Korea's leader Kim Jong-Un"), if any.
    pub name_tokens: Option<Range<usize>>,
    /// Byte range of the proper-name part, if any.
    pub name: Option<Range<usize>>,
}

impl Sentence {
    /// Replaces the named person, place and organisation mentions with `names` (byte
    /// ranges into the analysed text, e.g. from a stronger tagger); other mentions stay.
    /// A name that does not cover whole tokens is skipped.
    pub fn replace_names(&mut self, names: &[(Range<usize>, EntityKind)]) {
        let replaced = |e: &Entity| {
            e.proper
                && matches!(
                    e.kind,
                    EntityKind::Person | EntityKind::Place | EntityKind::Organization
                )
        };
        self.entities.retain(|e| !replaced(e));
        for (range, kind) in names {
            let first = self.tokens.iter().position(|t| t.range.start == range.start);
            let last = self.tokens.iter().rposition(|t| t.range.end == range.end);
            let (Some(first), Some(last)) = (first, last) else {
                continue;
            };
            if last < first {
                continue;
            }
            let tokens = first..last + 1;
            let head = tokens
                .clone()
                .find(|&i| self.tokens[i].head.is_none_or(|h| !tokens.contains(&h)))
                .unwrap_or(last);
            self.entities.push(Entity {
                tokens: tokens.clone(),
                range: range.clone(),
                kind: *kind,
                proper: true,
                head,
                name_tokens: Some(tokens),
                name: Some(range.clone()),
            });
        }
        self.entities
            .sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    }
}

/// One analysed sentence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sentence {
    /// Word tokens in order.
    pub tokens: Vec<Token>,
    /// Entity mentions: outermost mentions and innermost nested ones, sorted by start then
    /// by decreasing length. Mentions may nest but never cross.
    pub entities: Vec<Entity>,
}

impl Sentence {
    /// Index of the root token (main predicate), if the sentence has tokens.
    pub fn root(&self) -> Option<usize> {
        self.tokens.iter().position(|t| t.head.is_none())
    }

    /// Indices of the dependents of token `i`, in order.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.tokens
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.head == Some(i))
            .map(|(j, _)| j)
    }
}

/// The trained models.
pub struct Pipeline {
    tagger: Tagger,
    parser: Parser,
    labeller: Labeller,
    entities: EntityTagger,
}

const BUNDLE_MAGIC: &[u8; 8] = b"NGNLP002";
/// File name of the model bundle inside a model directory.
pub const MODEL_FILE: &str = "nlp.bin";

static EMBEDDED_BYTES: &[u8] = include_bytes!("../../models/nlp/nlp.bin");

static EMBEDDED: LazyLock<Result<Pipeline, NlpError>> = LazyLock::new(|| Pipeline::from_bytes(EMBEDDED_BYTES));

impl Pipeline {
    /// The models shipped in the binary, decoded once on first use, or why they cannot be.
    /// Workers call this while they start, so that an unreadable bundle is a start-up error
    /// and never a silent fall-back to untrained models.
    pub fn load_embedded() -> Result<&'static Pipeline, &'static NlpError> {
        EMBEDDED.as_ref()
    }

    /// The models shipped in the binary. Panics if they cannot be read, which
    /// [`Pipeline::load_embedded`] reports at start-up and the bundle's own tests rule out.
    pub fn embedded() -> &'static Pipeline {
        Pipeline::load_embedded().expect("the embedded NLP bundle (models/nlp/nlp.bin) is readable")
    }

    /// Loads `dir/nlp.bin` as written by [`Pipeline::save`].
    pub fn from_dir(dir: &Path) -> Result<Pipeline, NlpError> {
        let path = dir.join(MODEL_FILE);
        let bytes = std::fs::read(&path).map_err(|source| NlpError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Pipeline::from_bytes(&bytes)
    }

    /// Assembles a pipeline from trained components.
    pub fn new(tagger: Tagger, parser: Parser, labeller: Labeller, entities: EntityTagger) -> Self {
        Pipeline {
            tagger,
            parser,
            labeller,
            entities,
        }
    }

    /// A pipeline whose models have no weights (for tests and as the start of training).
    pub fn untrained() -> Pipeline {
        Pipeline::new(
            Tagger::untrained(),
            Parser::untrained(),
            Labeller::untrained(),
            EntityTagger::untrained(),
        )
    }

    /// Decodes a model bundle. It is stored uncompressed: the sparse quantised rows gain
    /// little from gzip, and inflating would dominate the load time.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pipeline, NlpError> {
        let mut input = bytes
            .strip_prefix(BUNDLE_MAGIC.as_slice())
            .ok_or_else(|| NlpError::Format("not a newsgist nlp bundle".into()))?;
        let tagger = Tagger::read(&mut input)?;
        let parser = Parser::read(&mut input)?;
        let labeller = Labeller::read(&mut input)?;
        let entities = EntityTagger::read(&mut input)?;
        if !input.is_empty() {
            return Err(NlpError::Format("trailing bytes".into()));
        }
        Ok(Pipeline::new(tagger, parser, labeller, entities))
    }

    /// Serialises all models as one bundle.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = BUNDLE_MAGIC.to_vec();
        self.tagger.write(&mut raw);
        self.parser.write(&mut raw);
        self.labeller.write(&mut raw);
        self.entities.write(&mut raw);
        raw
    }

    /// Writes `dir/nlp.bin`.
    pub fn save(&self, dir: &Path) -> Result<(), NlpError> {
        let io = |source| NlpError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::write(dir.join(MODEL_FILE), self.to_bytes()).map_err(io)
    }

    /// The POS tagger.
    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    /// The unlabelled parser.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The arc labeller.
    pub fn labeller(&self) -> &Labeller {
        &self.labeller
    }

    /// Analyses one sentence given as a byte range of `text`. Out-of-range or
    /// non-char-boundary ranges are clamped, never panicking.
    pub fn analyze(&self, text: &str, sentence: Range<usize>) -> Sentence {
        let ranges = tokenize::tokenize(text, sentence);
        let words: Vec<&str> = ranges.iter().map(|r| &text[r.clone()]).collect();
        let analysed = self.analyze_words(&words);
        let tokens = ranges
            .iter()
            .zip(analysed.upos)
            .zip(analysed.heads.iter().zip(&analysed.deprels))
            .map(|((r, upos), (head, deprel))| Token {
                range: r.clone(),
                upos,
                head: *head,
                deprel,
            })
            .collect::<Vec<_>>();
        let entities = analysed
            .entities
            .into_iter()
            .map(|m| {
                let byte = |t: &Range<usize>| ranges[t.start].start..ranges[t.end - 1].end;
                Entity {
                    range: byte(&m.tokens),
                    name: m.name_tokens.as_ref().map(byte),
                    tokens: m.tokens,
                    kind: m.kind,
                    proper: m.proper,
                    head: m.head,
                    name_tokens: m.name_tokens,
                }
            })
            .collect();
        Sentence { tokens, entities }
    }

    /// Analyses pre-tokenised words (used for evaluation on gold tokens).
    pub fn analyze_words(&self, words: &[&str]) -> WordAnalysis {
        let feats = features::word_feats(words);
        let upos = self.tagger.tag_feats(&feats);
        let heads = self.parser.parse_feats(&feats, &upos);
        let deprels = self.labeller.label_feats(&feats, &upos, &heads);
        let entities = self.entities.find_feats(&feats, &upos, &heads, &deprels);
        WordAnalysis {
            upos,
            heads,
            deprels,
            entities,
        }
    }
}

/// Analysis of pre-tokenised words.
#[derive(Clone, Debug)]
pub struct WordAnalysis {
    /// POS tag per word.
    pub upos: Vec<Upos>,
    /// Head per word (`None` = root).
    pub heads: Vec<Option<usize>>,
    /// Relation per word.
    pub deprels: Vec<&'static str>,
    /// Entity mentions over word indices.
    pub entities: Vec<entities::Mention>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_falls_back_to_universal_relation() {
        assert_eq!(intern_deprel("nsubj:pass"), Some("nsubj:pass"));
        assert_eq!(intern_deprel("obl:tmod"), Some("obl"));
        assert_eq!(intern_deprel("nonsense"), None);
    }

    #[test]
    fn untrained_pipeline_never_panics_on_odd_input() {
        let p = Pipeline::untrained();
        let text = "é\u{200b}🙂 “Hi” — it's 3.5%… \u{0}\n\t日本語";
        for start in 0..text.len() + 2 {
            for end in [start, start + 1, start + 7, text.len() + 3] {
                let s = p.analyze(text, start..end);
                for t in &s.tokens {
                    assert!(text.get(t.range.clone()).is_some());
                }
            }
        }
        assert!(p.analyze("", 0..0).tokens.is_empty());
    }

    /// Huge inputs without sentence structure stay linear-time.
    #[test]
    fn huge_inputs_are_fast() {
        let p = Pipeline::embedded();
        for text in ["a-".repeat(20_000), "word ".repeat(10_000), "x.".repeat(20_000)] {
            let started = std::time::Instant::now();
            let s = p.analyze(&text, 0..text.len());
            assert!(!s.tokens.is_empty());
            assert_eq!(s.tokens.iter().filter(|t| t.head.is_none()).count(), 1);
            assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
        }
    }

    #[test]
    fn bundle_round_trip_and_garbage_rejected() {
        let p = Pipeline::untrained();
        let bytes = p.to_bytes();
        assert!(Pipeline::from_bytes(&bytes).is_ok());
        assert!(Pipeline::from_bytes(b"not a bundle").is_err());
        assert!(Pipeline::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    const TINY: &str = "# text = Kim visited Beijing.\n\
1\tKim\tKim\tPROPN\tNNP\t_\t2\tnsubj\t_\tEntity=(1-person-new)\n\
2\tvisited\tvisit\tVERB\tVBD\t_\t0\troot\t_\t_\n\
3\tBeijing\tBeijing\tPROPN\tNNP\t_\t2\tobj\t_\tEntity=(2-place-new)|SpaceAfter=No\n\
4\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\n\n\
# text = The man left.\n\
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\tEntity=(3-person-new\n\
2\tman\tman\tNOUN\tNN\t_\t3\tnsubj\t_\tEntity=3)\n\
3\tleft\tleave\tVERB\tVBD\t_\t0\troot\t_\tSpaceAfter=No\n\
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n";

    /// Trains every component on two sentences, saves, reloads and reproduces them.
    #[test]
    fn tiny_training_round_trip() {
        let gold = conllu::parse(TINY);
        let tags: Vec<Vec<Upos>> = gold.iter().map(|s| s.upos.clone()).collect();
        let analyses: Vec<_> = gold
            .iter()
            .map(|s| (s.upos.clone(), s.heads.clone(), entities::intern_all(&s.deprels)))
            .collect();
        let p = Pipeline::new(
            Tagger::train(&gold, 10, 1, 1000),
            Parser::train(&gold, &tags, 10, 1, 1000),
            Labeller::train(&gold, &tags, 10, 1, 1000),
            EntityTagger::train(&gold, &analyses, 10, 1, 1000),
        );
        let dir = std::env::temp_dir().join(format!("newsgist-nlp-test-{}", std::process::id()));
        p.save(&dir).unwrap();
        let back = Pipeline::from_dir(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for s in &gold {
            let a = back.analyze_words(&s.word_refs());
            assert_eq!(a.upos, s.upos);
            assert_eq!(a.heads, s.heads);
            assert_eq!(a.deprels, s.deprels);
            let spans: Vec<_> = a.entities.iter().map(|m| (m.tokens.clone(), m.kind)).collect();
            let gold_spans: Vec<_> = s.mentions.iter().map(|m| (m.tokens.clone(), m.kind)).collect();
            assert_eq!(spans, gold_spans);
        }
        assert!(Pipeline::from_dir(&dir).is_err());
    }

    /// The shipped models on a typical news sentence.
    #[test]
    fn embedded_models_analyse_news_sentence() {
        let text = "North Korea's leader Kim Jong-Un arrived in Beijing on Tuesday.";
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let word = |i: usize| &text[s.tokens[i].range.clone()];
        let arrived = (0..s.tokens.len()).find(|&i| word(i) == "arrived").unwrap();
        assert_eq!(s.root(), Some(arrived));
        assert_eq!(s.tokens[arrived].upos, Upos::Verb);
        let person = s
            .entities
            .iter()
            .find(|e| e.kind == EntityKind::Person && e.proper)
            .expect("a named person");
        assert_eq!(person.name.clone().map(|r| &text[r]), Some("Kim Jong-Un"));
        // The person mention is the subject of "arrived".
        assert_eq!(s.tokens[person.head].head, Some(arrived));
        assert_eq!(s.tokens[person.head].deprel, "nsubj");
        let place = s
            .entities
            .iter()
            .find(|e| &text[e.range.clone()] == "Beijing")
            .expect("Beijing mention");
        assert_eq!(place.kind, EntityKind::Place);
        assert!(place.proper);
    }
}
