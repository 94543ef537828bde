//! The main predication of one sentence: who (subject), what (verb group with its object or
//! complement) and the token view the other slot finders share.
//!
//! Body sentences are read from the dependency parse (root predicate and its `nsubj`).
//! Headlines break the parser, which was trained on running text: "Clinton blames Comey"
//! comes out as a noun phrase because headline verbs are bare present-tense forms. They, and
//! sentences whose parse has no subject, are read with headline rules instead: the verb is
//! the first verb-like word after a noun phrase, and that noun phrase is the subject.

use std::ops::Range;

use crate::nlp::{Entity, EntityKind, Sentence, Upos};

/// Words that open a subordinate clause or an adjunct after the main predicate; the `what`
/// slot stops there ("meets Obama | as transition starts").
const CLAUSE_BREAKS: &[&str] = &[
    "as",
    "after",
    "while",
    "because",
    "but",
    "before",
    "since",
    "when",
    "amid",
    "amidst",
    "despite",
    "following",
    "ahead",
    "until",
    "unless",
    "though",
    "although",
    "whereas",
    "where",
    "who",
    "whom",
    "which",
    "so",
    "if",
    "once",
    "than",
    "via",
];

/// Prepositions that mark a phrase as the predicate's argument rather than an adjunct, so
/// they do not count towards the one adjunct `what` keeps.
const ARGUMENT_PREPOSITIONS: &[&str] = &["of", "'s", "’s"];

/// Nouns for the medium rather than an actor: "Footage shows ...", "Video: ...".
const MEDIA_SUBJECTS: &[&str] = &[
    "footage", "video", "videos", "photo", "photos", "picture", "pictures", "image", "images", "watch", "gallery",
    "live",
];

/// Question words: a headline subject never contains one.
const WH_WORDS: &[&str] = &["what", "why", "how", "who", "whom", "whose", "which", "where", "when"];

/// Words of a quantity with no noun ("At least three", "Dozens", "More than 100"): a
/// number of something is not an agent.
const QUANTITY_WORDS: &[&str] = &[
    "at",
    "least",
    "most",
    "more",
    "than",
    "about",
    "some",
    "nearly",
    "almost",
    "over",
    "up",
    "to",
    "around",
    "dozens",
    "hundreds",
    "thousands",
    "millions",
    "scores",
    "several",
    "many",
    "few",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "fifty",
    "hundred",
    "thousand",
    "million",
    "billion",
    "a",
    "another",
    "all",
    "both",
];

/// Personal pronouns that refer back to a person named earlier.
pub(crate) const PERSON_PRONOUNS: &[&str] = &["he", "she", "him", "her"];

/// Longest `what`, in tokens: annotators and readers want the predicate, not the sentence.
const MAX_WHAT_TOKENS: usize = 10;

/// Longest subject kept whole as `who`; longer ones are reduced to their name.
const MAX_WHOLE_SUBJECT: usize = 4;

/// One analysed sentence with the per-token facts the slot finders ask about.
pub(crate) struct View<'a> {
    /// The text the sentence's byte ranges point into.
    pub text: &'a str,
    pub sentence: &'a Sentence,
    /// Lower-cased token strings.
    pub lower: Vec<String>,
    /// Headline capitalisation ("Toblerone Alters Shape of 2 Bars"): initial capitals carry
    /// no information about names.
    pub title_case: bool,
    /// Byte ranges of the sentence's dates and times (not durations: "90-minute meeting").
    pub timexes: Vec<Range<usize>>,
    /// The first word is a name, not just capitalised because it opens the sentence
    /// (the caller knows from the rest of the article).
    pub first_word_name: bool,
}

/// Subject and predicate of a sentence, as token ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Predication {
    /// The subject noun phrase, already reduced to what `who` reports.
    pub who: Range<usize>,
    /// Verb group through its object or complement and at most one adjunct.
    pub what: Range<usize>,
}

impl<'a> View<'a> {
    pub fn new(text: &'a str, sentence: &'a Sentence, timexes: Vec<Range<usize>>, first_word_name: bool) -> View<'a> {
        let lower: Vec<String> = sentence
            .tokens
            .iter()
            .map(|t| text[t.range.clone()].to_lowercase())
            .collect();
        let (mut words, mut capitalised) = (0, 0);
        for t in &sentence.tokens {
            let w = &text[t.range.clone()];
            if w.chars().count() > 3 && w.chars().all(char::is_alphabetic) {
                words += 1;
                capitalised += usize::from(w.chars().next().is_some_and(char::is_uppercase));
            }
        }
        View {
            text,
            sentence,
            lower,
            title_case: words >= 3 && capitalised * 4 >= words * 3,
            timexes,
            first_word_name,
        }
    }

    pub fn len(&self) -> usize {
        self.sentence.tokens.len()
    }

    pub fn word(&self, i: usize) -> &'a str {
        &self.text[self.sentence.tokens[i].range.clone()]
    }

    pub fn upos(&self, i: usize) -> Upos {
        self.sentence.tokens[i].upos
    }

    /// Byte range covering tokens `r` (non-empty).
    pub fn bytes(&self, r: &Range<usize>) -> Range<usize> {
        self.sentence.tokens[r.start].range.start..self.sentence.tokens[r.end - 1].range.end
    }

    /// Token `i` is written against token `i - 1` ("Jong" "-" "Un", "Korea" "'s").
    pub fn glued_to_previous(&self, i: usize) -> bool {
        i > 0 && self.sentence.tokens[i - 1].range.end == self.sentence.tokens[i].range.start
    }

    fn is_capitalised(&self, i: usize) -> bool {
        self.word(i).chars().next().is_some_and(char::is_uppercase)
    }

    fn is_all_caps(&self, i: usize) -> bool {
        let w = self.word(i);
        w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.chars().any(char::is_lowercase)
    }

    fn is_punct(&self, i: usize) -> bool {
        self.upos(i) == Upos::Punct || !self.word(i).chars().any(char::is_alphanumeric)
    }

    /// Part of a proper name. Capitals count in sentence case except on a sentence's first
    /// word; in title case only the tagger's PROPN does. Demonyms ("Chinese") are adjectives.
    pub fn is_name_token(&self, i: usize) -> bool {
        let w = self.word(i);
        if !w.chars().any(char::is_alphabetic) || self.upos(i) == Upos::Adj || self.is_possessive(i) {
            return false;
        }
        if i == 0 && self.first_word_name {
            return true;
        }
        // A headline segment's first word ("Storm season: Race to ...") is capitalised as
        // a sentence's first word is.
        let initial = i == 0 || matches!(self.word(i - 1), ":" | "|" | "–" | "—" | "--");
        if self.title_case || (initial && !self.is_all_caps(i)) {
            return self.upos(i) == Upos::Propn && self.is_capitalised(i);
        }
        self.is_capitalised(i) && !matches!(self.upos(i), Upos::Pron | Upos::Det | Upos::Adp | Upos::Cconj)
    }

    fn is_possessive(&self, i: usize) -> bool {
        let apostrophe = |w: &str| matches!(w, "'" | "’" | "`");
        matches!(self.lower[i].as_str(), "'s" | "’s" | "`s")
            || apostrophe(&self.lower[i])
            || (self.lower[i] == "s" && self.glued_to_previous(i) && apostrophe(&self.lower[i - 1]))
    }

    /// Maximal runs of name tokens within `r`, hyphenated parts included ("Kim Jong-Un").
    pub fn name_runs(&self, r: Range<usize>) -> Vec<Range<usize>> {
        let mut runs: Vec<Range<usize>> = Vec::new();
        let mut i = r.start;
        while i < r.end {
            let adjective_in_name = self.upos(i) == Upos::Adj
                && self.is_capitalised(i)
                && !self.title_case
                && i + 1 < r.end
                && self.is_name_token(i + 1);
            if !self.is_name_token(i) && !adjective_in_name {
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            while i < r.end {
                let hyphen =
                    self.word(i) == "-" && self.glued_to_previous(i) && i + 1 < r.end && self.glued_to_previous(i + 1);
                if hyphen {
                    i += 2;
                } else if self.is_name_token(i) {
                    i += 1;
                } else {
                    break;
                }
            }
            // "United Nations Secretary-General ...": the sentence's first word joins a name
            // that follows it, whatever the tagger made of it.
            let opener = start == 1
                && r.start == 0
                && self.is_capitalised(0)
                && self.word(0).chars().all(char::is_alphabetic)
                && !matches!(
                    self.upos(0),
                    Upos::Det | Upos::Pron | Upos::Adp | Upos::Sconj | Upos::Cconj | Upos::Adv | Upos::Aux
                );
            runs.push(if opener { 0..i } else { start..i });
        }
        runs
    }

    fn noun_like(&self, i: usize) -> bool {
        matches!(self.upos(i), Upos::Noun | Upos::Propn | Upos::Pron | Upos::Num)
            || (self.is_capitalised(i) && !self.is_punct(i))
            || self.lower[i].ends_with("ing")
    }

    fn starts_timex(&self, i: usize) -> bool {
        let start = self.sentence.tokens[i].range.start;
        self.timexes.iter().any(|t| t.start <= start && start < t.end)
    }

    /// Entity mention whose extent is exactly the byte range `bytes`, or else the
    /// innermost mention containing it.
    pub fn entity_at(&self, bytes: &Range<usize>) -> Option<&'a Entity> {
        let ents = &self.sentence.entities;
        ents.iter()
            .find(|e| e.range == *bytes || e.name.as_ref() == Some(bytes))
            .or_else(|| {
                ents.iter()
                    .filter(|e| e.range.start <= bytes.start && bytes.end <= e.range.end)
                    .min_by_key(|e| e.range.len())
            })
    }

    /// A verb in headline grammar: tagged so, an auxiliary, or a bare "-s" present or "-ed"
    /// form right after a noun ("Toblerone sparks", "Clinton CLEARED") that the tagger,
    /// trained on running text, took for a noun.
    fn verb_like(&self, i: usize) -> bool {
        let w = self.lower[i].as_str();
        let prev_nounish = self.previous_word(i).is_some_and(|p| {
            let noun = self.noun_like(p)
                || self.upos(p) == Upos::Adj
                || (self.upos(p) == Upos::Verb && self.compound_noun_before_verb(p));
            noun && !self.is_possessive(p)
        });
        if w.ends_with("ing") || self.is_punct(i) {
            return false;
        }
        let capital_name = self.is_capitalised(i) && !self.title_case && !self.is_all_caps(i);
        match self.upos(i) {
            Upos::Aux => return true,
            Upos::Verb if !capital_name => return !self.compound_noun_before_verb(i),
            _ => {}
        }
        if !prev_nounish || capital_name || !w.chars().all(|c| c.is_alphabetic()) || w.len() < 4 {
            return false;
        }
        if self.base_verb(i) {
            return true;
        }
        // A plural noun, not a verb, when a verb follows: "Toblerone fans outraged", and
        // after a common noun "Ad sales boost profit" (but "Hansen delays return").
        let after_common_noun = self.previous_word(i).is_some_and(|p| !self.is_name_token(p));
        let next_is_verb = i + 1 < self.len()
            && (self.upos(i + 1) == Upos::Aux
                || (self.upos(i + 1) == Upos::Verb && self.lower[i + 1].ends_with("ed"))
                || (after_common_noun && self.base_verb(i + 1)));
        let plural_s = w.ends_with('s') && !["ss", "us", "is", "ics", "ous"].iter().any(|x| w.ends_with(x));
        (plural_s && i + 1 < self.len() && !next_is_verb) || (w.ends_with("ed") && w.len() >= 5)
    }

    /// Token `i`, which the tagger calls a verb, is a noun of the headline's subject, by
    /// agreement with the verb after it: a bare form after a noun before an "-s" verb with
    /// its object ("Peugeot deal boosts Mitsubishi", "Lyon metro strike enters"), or an
    /// "-s" plural after a common noun before a bare verb the tagger also knows, with its
    /// object ("Ad sales boost profit"; but "Toblerone sparks outrage", "Minister quits post").
    fn compound_noun_before_verb(&self, i: usize) -> bool {
        let w = self.lower[i].as_str();
        let Some(p) = self.previous_word(i) else {
            return false;
        };
        if !matches!(self.upos(p), Upos::Noun | Upos::Propn) || self.is_possessive(p) {
            return false;
        }
        let lower_word =
            |k: usize| self.lower[k].chars().all(char::is_alphabetic) && (self.title_case || !self.is_capitalised(k));
        let with_object = |k: usize| {
            k + 1 < self.len()
                && matches!(
                    self.upos(k + 1),
                    Upos::Det | Upos::Adj | Upos::Noun | Upos::Propn | Upos::Num | Upos::Pron | Upos::Adp
                )
        };
        let third_person = |k: usize| {
            let v = self.lower[k].as_str();
            v.ends_with('s')
                && !v.ends_with("ss")
                && v.len() >= 4
                && lower_word(k)
                && matches!(self.upos(k), Upos::Verb | Upos::Noun)
                && with_object(k)
        };
        let bare = !w.ends_with('s') && !w.ends_with("ed");
        if bare {
            return (i + 1..self.len().min(i + 3)).any(third_person);
        }
        let next = i + 1;
        let plural = w.ends_with('s') && !w.ends_with("ss");
        plural
            && !self.is_name_token(p)
            && next < self.len()
            && self.upos(next) == Upos::Verb
            && !self.lower[next].ends_with('s')
            && lower_word(next)
            && with_object(next)
    }

    /// "Brits blame ...", "Trump and Obama meet ...": a bare base form after a plural or
    /// coordinated subject, followed by its object.
    fn base_verb(&self, i: usize) -> bool {
        let w = self.lower[i].as_str();
        let Some(p) = self.previous_word(i) else {
            return false;
        };
        let plural_subject =
            (self.lower[p].ends_with('s') && self.noun_like(p)) || (p >= 2 && self.upos(p - 1) == Upos::Cconj);
        // An object, a complement phrase, or a "to" infinitive ("Businesses fail to plan").
        let object_follows = i + 1 < self.len()
            && (matches!(
                self.upos(i + 1),
                Upos::Det | Upos::Adj | Upos::Noun | Upos::Propn | Upos::Adp
            ) || self.lower[i + 1] == "to");
        let lower_case = self.title_case || !self.is_capitalised(i);
        plural_subject
            && object_follows
            && lower_case
            && !w.ends_with('s')
            && w.len() >= 3
            && w.chars().all(char::is_alphabetic)
            && matches!(self.upos(i), Upos::Noun | Upos::Verb)
    }

    /// The word before token `i`, quotation marks skipped ("Hansen 'delays return'").
    fn previous_word(&self, i: usize) -> Option<usize> {
        (0..i).rev().find(|&k| !self.is_quote(k))
    }

    fn is_quote(&self, i: usize) -> bool {
        matches!(self.word(i), "'" | "\"" | "‘" | "’" | "“" | "”" | "`")
    }

    /// A subject noun phrase in headline grammar: has a noun, no verb or clause word.
    fn subject_ok(&self, r: &Range<usize>) -> bool {
        // The head may be tagged an adjective: "UN chief warns ...".
        let head_ok = |i: usize| {
            self.noun_like(i)
                || self.upos(i) == Upos::Adj
                || (self.upos(i) == Upos::Verb && self.compound_noun_before_verb(i))
        };
        if !r.clone().rev().find(|&i| !self.is_quote(i)).is_some_and(head_ok) {
            return false;
        }
        // "What now for ...?", "How the deal was done": questions and indirect questions.
        if r.clone().any(|i| WH_WORDS.contains(&self.lower[i].as_str())) {
            return false;
        }
        r.clone().all(|i| {
            let w = self.lower[i].as_str();
            let capital_name = self.is_capitalised(i) && !self.title_case && !self.is_all_caps(i);
            let verb = matches!(self.upos(i), Upos::Verb | Upos::Aux)
                && !w.ends_with("ing")
                && !w.ends_with("ed")
                && !capital_name
                && !self.compound_noun_before_verb(i);
            !(verb
                || matches!(self.upos(i), Upos::Sconj)
                || CLAUSE_BREAKS.contains(&w)
                || w == "to"
                || w == "that"
                || (self.is_punct(i) && matches!(w, "," | ";" | "(" | ")" | "!" | "?")))
        })
    }

    /// Token ranges of a headline's segments: "Trump election: Clinton blames ..." reads
    /// as a label and a clause; a leading quotation ("'I BLAME COMEY' Clinton ...") is set
    /// apart and skipped: it is someone's words, not the event.
    fn segments(&self) -> Vec<Range<usize>> {
        let n = self.len();
        let quote = |w: &str| matches!(w, "'" | "\"" | "‘" | "’" | "“" | "”");
        let first = if n > 0 && quote(self.word(0)) {
            (1..n).find(|&i| quote(self.word(i))).map_or(0, |close| close + 1)
        } else {
            0
        };
        let mut out = Vec::new();
        let mut start = first;
        for i in first..n {
            if matches!(self.word(i), ":" | "|" | "–" | "—" | "--") {
                out.push(start..i);
                start = i + 1;
            }
        }
        out.push(start..n);
        out.retain(|r| !r.is_empty());
        out
    }

    /// Predication read with headline rules, from the first segment that has one.
    pub fn headline_predication(&self) -> Option<Predication> {
        self.headline_predication_with(false)
    }

    /// [`View::headline_predication`]; with `tagged_first`, a word the tagger calls a verb is
    /// tried as the verb before the headline guesses ("-s" and "-ed" forms after a noun), so
    /// that "Rescue efforts continue" is not split at "efforts".
    pub fn headline_predication_with(&self, tagged_first: bool) -> Option<Predication> {
        let tagged = |i: usize| {
            matches!(self.upos(i), Upos::Verb | Upos::Aux)
                && !self.lower[i].ends_with("ing")
                && !(self.is_capitalised(i) && !self.title_case && !self.is_all_caps(i))
        };
        tagged_first
            .then(|| self.headline_reading(&tagged))
            .flatten()
            .or_else(|| self.headline_reading(&|i| self.verb_like(i)))
    }

    fn headline_reading(&self, is_verb: &dyn Fn(usize) -> bool) -> Option<Predication> {
        self.segments().into_iter().find_map(|seg| {
            let mut start = seg.start;
            while start < seg.end && self.is_punct(start) {
                start += 1;
            }
            // "While the U.S. talks about election, UK outraged ...": skip the clause.
            if start < seg.end
                && (self.upos(start) == Upos::Sconj || CLAUSE_BREAKS.contains(&self.lower[start].as_str()))
            {
                start = (start..seg.end).find(|&i| self.word(i) == ",")? + 1;
            }
            for group in start + 1..seg.end {
                // "Saab to build cars in Sweden": headline future, the verb group opens at "to".
                let future = self.lower[group] == "to"
                    && group + 1 < seg.end
                    && self.upos(group + 1) == Upos::Verb
                    && !self.is_capitalised(group + 1);
                let verb = if future { group + 1 } else { group };
                if !future && !is_verb(verb) {
                    continue;
                }
                let subject = start..group;
                if !self.subject_ok(&subject) {
                    if subject
                        .clone()
                        .any(|i| CLAUSE_BREAKS.contains(&self.lower[i].as_str()) || self.lower[i] == "to")
                    {
                        break;
                    }
                    continue;
                }
                return self.predication(subject, group, verb, seg.end);
            }
            None
        })
    }

    /// Predication read from the dependency parse: the root predicate and its subject.
    pub fn parsed_predication(&self) -> Option<Predication> {
        let s = self.sentence;
        let root = s.root()?;
        // A capitalised "verb" mid-sentence is a misread name ("Manchester United avoided").
        let capital = root > 0 && self.is_capitalised(root) && !self.is_all_caps(root) && !self.title_case;
        if capital || !matches!(self.upos(root), Upos::Verb | Upos::Aux | Upos::Adj) {
            return None;
        }
        // Of several subjects (a misparse), the one nearest the verb.
        let subj = s
            .children(root)
            .filter(|&c| c < root && s.tokens[c].deprel.starts_with("nsubj"))
            .max()?;
        let mut extent = self.phrase(subj);
        // A name the parser split between two subjects: "Newcastle | United face ...".
        while extent.start > 0 && self.is_name_token(extent.start) && self.is_name_token(extent.start - 1) {
            extent.start -= 1;
        }
        if extent.end > root {
            return None;
        }
        // The verb group opens with the first auxiliary or copula after the subject.
        let group = s
            .children(root)
            .filter(|&c| c >= extent.end && c < root && matches!(s.tokens[c].deprel, "aux" | "aux:pass" | "cop"))
            .min()
            .unwrap_or(root);
        self.predication(extent, group, root, self.len())
    }

    /// The phrase headed by token `i`: the contiguous run of its subtree around it, not
    /// crossing a comma (a misattached clause like "struck Turkey on Friday, killing 30,
    /// officials said" stays out of the subject "officials").
    fn phrase(&self, i: usize) -> Range<usize> {
        let s = self.sentence;
        let under = |j: usize| {
            let mut k = j;
            for _ in 0..=self.len() {
                if k == i {
                    return true;
                }
                match s.tokens[k].head {
                    Some(h) => k = h,
                    None => return false,
                }
            }
            false
        };
        let mut lo = i;
        while lo > 0 && under(lo - 1) && self.word(lo - 1) != "," {
            lo -= 1;
        }
        let mut hi = i + 1;
        while hi < self.len() && under(hi) && self.word(hi) != "," {
            hi += 1;
        }
        lo..hi
    }

    fn predication(&self, subject: Range<usize>, group: usize, verb: usize, end: usize) -> Option<Predication> {
        let who = self.who_of(subject)?;
        if who.len() == 1 && MEDIA_SUBJECTS.contains(&self.lower[who.start].as_str()) {
            return None;
        }
        let what = self.what_of(group, verb, end);
        (!what.is_empty()).then_some(Predication { who, what })
    }

    /// The subject as `who`: its core noun phrase (up to a comma, clause or preposition
    /// other than "of") if short, else the name it is about ("North Korea's supreme leader
    /// Kim Jong-Un" -> "Kim Jong-Un").
    fn who_of(&self, subject: Range<usize>) -> Option<Range<usize>> {
        let mut start = subject.start;
        while start < subject.end && self.is_punct(start) {
            start += 1;
        }
        let mut end = start;
        while end < subject.end {
            let w = self.lower[end].as_str();
            let stop =
                matches!(
                    w,
                    "," | ";" | ":" | "(" | ")" | "[" | "]" | "!" | "?" | "\"" | "“" | "”" | "—" | "–" | "--" | "|"
                ) || (self.upos(end) == Upos::Adp && !ARGUMENT_PREPOSITIONS.contains(&w) && !self.is_possessive(end))
                    || CLAUSE_BREAKS.contains(&w)
                    || w == "that";
            if stop && end > start {
                break;
            }
            end += 1;
        }
        while end > start && (self.is_punct(end - 1) || self.upos(end - 1) == Upos::Adp) {
            end -= 1;
        }
        if end <= start {
            return None;
        }
        let words = |from: usize| (from..end).filter(|&i| !self.is_punct(i)).count();
        if words(start) <= MAX_WHOLE_SUBJECT {
            return Some(start..end);
        }
        // "India's Reliance family feud": the possessor is context, not the subject.
        if let Some(owned) = (start..end).rev().find(|&i| self.is_possessive(i)).map(|p| p + 1) {
            if owned < end && words(owned) <= MAX_WHOLE_SUBJECT {
                return Some(owned..end);
            }
        }
        self.name_runs(start..end).pop().or(Some(start..end))
    }

    /// The verb group from `group` through the verb's object or complement and at most one
    /// adjunct phrase, stopping at clause boundaries and time expressions.
    fn what_of(&self, group: usize, verb: usize, end: usize) -> Range<usize> {
        let passive = self.lower[verb].ends_with("ed") || self.lower[verb].ends_with("en");
        let mut adjuncts = 0;
        let mut last = verb;
        let mut j = verb + 1;
        // A particle ("heats up", "holds on to ...", "sells out in days") is part of the verb.
        let particle = j < end
            && (self.upos(j) == Upos::Adp || self.sentence.tokens[j].deprel == "compound:prt")
            && (j + 1 == end
                || self.upos(j + 1) == Upos::Adp
                || self.is_punct(j + 1)
                || CLAUSE_BREAKS.contains(&self.lower[j + 1].as_str()));
        if particle {
            last = j;
            j += 1;
        }
        let kept = last;
        while j < end && j - group < MAX_WHAT_TOKENS {
            let w = self.lower[j].as_str();
            if self.is_punct(j) && !matches!(w, "'" | "‘" | "’" | "\"" | "“" | "”" | "-" | "." | "%" | "$") {
                break;
            }
            if CLAUSE_BREAKS.contains(&w) || self.starts_timex(j) {
                break;
            }
            if self.upos(j) == Upos::Cconj {
                // "meets Obama and Biden", "says he and Trump had ...": one phrase.
                let nouns_joined =
                    self.noun_like(j - 1) && j + 1 < end && self.noun_like(j + 1) && !self.verb_like(j + 1);
                if !nouns_joined {
                    break;
                }
            }
            if w == "to" && j + 1 < end && self.upos(j + 1) == Upos::Verb && j - group >= 3 {
                break;
            }
            if self.upos(j) == Upos::Adp && !ARGUMENT_PREPOSITIONS.contains(&w) && !(passive && w == "by") {
                adjuncts += 1;
                if adjuncts > 1 {
                    break;
                }
            }
            last = j;
            j += 1;
        }
        let possessive = |w: &str| matches!(w, "its" | "his" | "her" | "their" | "our" | "my" | "your");
        while last > kept
            && (matches!(
                self.upos(last),
                Upos::Adp | Upos::Det | Upos::Cconj | Upos::Sconj | Upos::Part
            ) || self.lower[last] == "not"
                || possessive(&self.lower[last])
                || (self.is_punct(last) && !self.closes_quote(group, last) && !matches!(self.word(last), "%" | "$")))
        {
            last -= 1;
        }
        group..last + 1
    }

    /// A quotation mark that closes one opened at or after token `from`.
    fn closes_quote(&self, from: usize, i: usize) -> bool {
        let w = self.word(i);
        let opener = match w {
            "'" | "’" => ["'", "‘"],
            "\"" | "”" => ["\"", "“"],
            _ => return false,
        };
        (from..i)
            .filter(|&k| opener.contains(&self.word(k)) || self.word(k) == w)
            .count()
            % 2
            == 1
    }

    /// How much the phrase at tokens `r` reads as an agent, the `who` of an event: 3 a
    /// named person or organisation; 2 another name, or a person, organisation or place
    /// mention ("the boy", "rescuers"); 1 a plural noun phrase ("Angry fans"); 0 anything
    /// else: a quantity alone ("Twelve", "At least three"), an event or a thing ("Race",
    /// "Seattle shooting").
    pub fn agency(&self, r: &Range<usize>) -> u8 {
        let Some(last) = r.clone().rev().find(|&i| !self.is_punct(i)) else {
            return 0;
        };
        if self.is_quantity(r) {
            return 0;
        }
        let kind = self.entity_at(&self.bytes(r)).map(|e| e.kind);
        let agent_kind = matches!(kind, Some(EntityKind::Person | EntityKind::Organization));
        // The tagger's other types are too unsure on a name to count against it, except an
        // event ("Seattle shooting").
        let named = !self.name_runs(r.clone()).is_empty() && kind != Some(EntityKind::Event);
        match (agent_kind, named) {
            (true, true) => 3,
            (true, false) | (false, true) => 2,
            _ if kind == Some(EntityKind::Place) => 2,
            _ if self.lower[last].ends_with('s') && matches!(self.upos(last), Upos::Noun | Upos::Propn) => 1,
            _ => 0,
        }
    }

    /// The phrase at tokens `r` is a number or quantity alone ("Twelve", "At least three").
    pub fn is_quantity(&self, r: &Range<usize>) -> bool {
        // The tagger's NUM alone does not make a number ("Toblerone" has been one).
        r.clone().filter(|&i| !self.is_punct(i)).all(|i| {
            self.lower[i].starts_with(|c: char| c.is_ascii_digit()) || QUANTITY_WORDS.contains(&self.lower[i].as_str())
        })
    }

    /// The sentence's first personal name mention (for resolving later pronouns).
    pub fn person_names(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.sentence
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::Person && e.proper)
            .filter_map(|e| e.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlp::Pipeline;

    fn read(text: &str, headline: bool) -> Option<(String, String)> {
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let v = View::new(text, &s, Vec::new(), false);
        let p = if headline {
            v.headline_predication()
        } else {
            v.parsed_predication().or_else(|| v.headline_predication())
        }?;
        Some((text[v.bytes(&p.who)].to_string(), text[v.bytes(&p.what)].to_string()))
    }

    #[test]
    fn headline_present_tense_verb() {
        let (who, what) = read("Mayor Jane Doe opens new bridge in Springfield as crowds gather", true).unwrap();
        assert_eq!(who, "Mayor Jane Doe");
        assert_eq!(what, "opens new bridge in Springfield");
    }

    #[test]
    fn headline_label_before_colon_is_skipped() {
        let (who, what) = read("Storm season: Acme Corp closes factory in Leeds", true).unwrap();
        assert_eq!(who, "Acme Corp");
        assert!(what.starts_with("closes factory"), "{what}");
    }

    #[test]
    fn what_stops_at_second_adjunct() {
        let (_, what) = read("Peter Smith meets with Anna Berg at the town hall after the vote", true).unwrap();
        assert_eq!(what, "meets with Anna Berg");
    }

    #[test]
    fn long_subject_reduces_to_its_name() {
        let text = "The small country's long-serving foreign minister Anna Berg resigned on Monday.";
        let (who, what) = read(text, false).unwrap();
        assert_eq!(who, "Anna Berg");
        assert_eq!(what, "resigned on Monday");
    }

    #[test]
    fn headline_future_and_particles() {
        let (who, what) = read("Acme Corp to close Leeds factory", true).unwrap();
        assert_eq!(who, "Acme Corp");
        assert_eq!(what, "to close Leeds factory");
        let (who, what) = read("Wenger rules out new keeper", true).unwrap();
        assert_eq!(who, "Wenger");
        assert_eq!(what, "rules out new keeper");
    }

    #[test]
    fn a_noun_the_tagger_calls_a_verb_stays_in_the_subject() {
        for (headline, who, verb) in [
            ("Peugeot deal boosts Mitsubishi", "Peugeot deal", "boosts"),
            ("Lyon metro strike enters third day", "Lyon metro strike", "enters"),
        ] {
            let (got_who, what) = read(headline, true).unwrap_or_else(|| panic!("no reading of {headline}"));
            assert_eq!(got_who, who, "{headline}");
            assert!(what.starts_with(verb), "{headline}: {what}");
        }
    }

    #[test]
    fn plural_noun_before_the_verb_stays_in_the_subject() {
        let (who, what) = read("Angry fans boycott final match", true).unwrap();
        assert_eq!(who, "Angry fans");
        assert_eq!(what, "boycott final match");
    }

    #[test]
    fn media_subject_is_not_an_actor() {
        assert_eq!(read("Footage shows the flood", true), None);
    }

    #[test]
    fn verbless_headline_has_no_predication() {
        assert_eq!(read("Mystery of the missing painting", true), None);
    }
}
