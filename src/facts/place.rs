//! Where: the place named in a locative phrase ("in Beijing", "at the White House",
//! "in the American city of Seattle"), in a wire-service dateline ("WASHINGTON --"), or a
//! name the place lexicon knows wherever it stands ("Lyon metro strike", "Dutch embassy").

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::clause::View;
use crate::nlp::places::{Gazetteer, Place, PlaceKind, MAX_WORDS};
use crate::nlp::{EntityKind, Upos};

/// Last words of organisation names: "in the Senate", "at Goldman Sachs Group" are no place
/// unless the lexicon says so.
const ORGANISATION_HEADS: &[&str] = &[
    "party",
    "council",
    "ministry",
    "department",
    "agency",
    "bureau",
    "commission",
    "committee",
    "court",
    "parliament",
    "congress",
    "senate",
    "police",
    "army",
    "navy",
    "university",
    "college",
    "bank",
    "company",
    "corporation",
    "corp",
    "inc",
    "ltd",
    "plc",
    "group",
    "association",
    "union",
    "federation",
    "foundation",
    "institute",
    "network",
    "times",
    "post",
    "news",
    "journal",
    "club",
    "fc",
    "united",
    "airways",
    "airlines",
    "services",
    "office",
    "board",
    "authority",
    "organisation",
    "organization",
    "fund",
    "trust",
    "league",
];

/// Prepositions that place an event.
const LOCATIVE: &[&str] = &["in", "at", "near", "outside", "inside", "across", "throughout"];

/// Common nouns that continue a place name written in lower case ("Hebei province").
const PLACE_NOUNS: &[&str] = &[
    "province",
    "state",
    "county",
    "city",
    "region",
    "district",
    "village",
    "town",
    "prefecture",
    "island",
];

/// How far past the preposition a name may start: "in [a rural village of] Hebei".
const MAX_LEAD_IN: usize = 4;

/// Token range of the first place in a locative phrase within tokens `within`.
pub(crate) fn locative(v: &View, within: Range<usize>) -> Option<Range<usize>> {
    within.clone().find_map(|j| {
        if !LOCATIVE.contains(&v.lower[j].as_str()) || v.upos(j) != Upos::Adp {
            return None;
        }
        let run = place_after(v, j + 1, within.end)?;
        let bytes = v.bytes(&run);
        let timex = v.timexes.iter().any(|t| t.start < bytes.end && bytes.start < t.end);
        let kind = v.entity_at(&bytes).map(|e| e.kind);
        // "in Clinton's emails", "in new Clinton emails": the name modifies another noun.
        let next = v.sentence.tokens.get(run.end).map(|t| t.range.start);
        let next_is_time = next.is_some_and(|b| v.timexes.iter().any(|t| t.start <= b && b < t.end));
        let modifier = run.end < v.len()
            && !next_is_time
            && (matches!(v.lower[run.end].as_str(), "'s" | "’s")
                || (v.upos(run.end) == Upos::Noun && !v.word(run.end).starts_with(char::is_uppercase)));
        // A full personal name is no place; a lone word the tagger calls a person may be one.
        let known = known_run(v, &run).is_some();
        let person = !known && kind == Some(EntityKind::Person) && run.len() > 1 && !v.word(run.start + 1).eq(",");
        (!timex && kind != Some(EntityKind::Time) && !person && !modifier && (known || !organisation(v, &run, kind)))
            .then_some(run)
    })
}

/// A name run that reads as an organisation: the tagger says so, it ends in an
/// organisation word ("Senate", "Group"), or it is an acronym ("FBI"); the caller has
/// already asked the lexicon.
fn organisation(v: &View, run: &Range<usize>, kind: Option<EntityKind>) -> bool {
    let last = run.end - 1;
    let word = v.word(last);
    let acronym = run.len() == 1
        && (2..=5).contains(&word.chars().filter(|c| c.is_alphabetic()).count())
        && !word.chars().any(char::is_lowercase);
    kind == Some(EntityKind::Organization) || acronym || ORGANISATION_HEADS.contains(&v.lower[last].as_str())
}

/// The lexicon entry of a name run, or of its first part before a comma ("Baoding, Hebei").
pub(crate) fn known_run(v: &View, run: &Range<usize>) -> Option<Place> {
    let g = Gazetteer::embedded();
    g.lookup(&v.text[v.bytes(run)]).or_else(|| {
        let comma = run.clone().find(|&i| v.word(i) == ",")?;
        (comma > run.start).then(|| g.lookup(&v.text[v.bytes(&(run.start..comma))]))?
    })
}

/// A name the lexicon knows, standing on its own within `within`: the longest match at
/// each capitalised token that is not part of a longer name ("Washington Post", "Hillary
/// Clinton") nor of a person mention. Only names that are places without a locative phrase
/// count (see [`Place::unambiguous`]): countries, states, regions, demonyms, large cities.
pub(crate) fn known_places(v: &View, within: Range<usize>) -> Vec<(Range<usize>, Place)> {
    let g = Gazetteer::embedded();
    let mut out = Vec::new();
    let mut k = within.start;
    while k < within.end {
        let capital = v.word(k).chars().next().is_some_and(char::is_uppercase);
        let found = capital
            .then(|| {
                (k + 1..=within.end.min(k + MAX_WORDS))
                    .rev()
                    .find_map(|end| g.lookup(&v.text[v.bytes(&(k..end))]).map(|p| (k..end, p)))
            })
            .flatten();
        let Some((run, place)) = found else {
            k += 1;
            continue;
        };
        k = run.end;
        let name_before = run.start > within.start && v.is_name_token(run.start - 1);
        let name_after = run.end < within.end && v.is_name_token(run.end);
        let person = v
            .entity_at(&v.bytes(&run))
            .is_some_and(|e| e.kind == EntityKind::Person && e.tokens.len() > run.len());
        if place.unambiguous() && !name_before && !name_after && !person {
            out.push((run, place));
        }
    }
    out
}

/// A place the lexicon knows in `within`, not a demonym: the headline's place when it only
/// modifies a noun ("Lyon metro strike").
pub(crate) fn named_place(v: &View, within: Range<usize>) -> Option<Range<usize>> {
    known_places(v, within)
        .into_iter()
        .find(|(_, p)| p.kind != PlaceKind::Demonym)
        .map(|(r, _)| r)
}

/// A demonym in `within` ("Dutch", "Kenyan") and the country it stands for.
pub(crate) fn demonym(v: &View, within: Range<usize>) -> Option<(Range<usize>, &'static str)> {
    known_places(v, within)
        .into_iter()
        .find(|(_, p)| p.kind == PlaceKind::Demonym && !p.country.is_empty())
        .map(|(r, p)| (r, p.country))
}

/// A place of country `iso` the lexicon knows in `within` (the country or one of its
/// cities), for a headline that only gives the nationality.
pub(crate) fn place_in_country(v: &View, within: Range<usize>, iso: &str) -> Option<Range<usize>> {
    let g = Gazetteer::embedded();
    let located = locative(v, within.clone()).filter(|r| known_run(v, r).is_some_and(|p| p.country == iso));
    located.or_else(|| {
        (within.start..within.end).find_map(|k| {
            (k + 1..=within.end.min(k + MAX_WORDS)).rev().find_map(|end| {
                let r = k..end;
                let p = g.lookup(&v.text[v.bytes(&r)])?;
                (p.country == iso && p.kind != PlaceKind::Demonym && v.word(k).starts_with(char::is_uppercase))
                    .then_some(r)
            })
        })
    })
}

/// ISO country code of a place's text ("Baoding, Hebei province" -> "CN"), if the lexicon
/// knows the place or its first part.
pub(crate) fn country_of(text: &str) -> Option<&'static str> {
    let g = Gazetteer::embedded();
    let first = text.split(',').next().unwrap_or(text).trim();
    let without_noun = first
        .rsplit_once(' ')
        .filter(|(_, last)| PLACE_NOUNS.contains(&last.to_lowercase().as_str()))
        .map_or(first, |(head, _)| head);
    [text.trim(), first, without_noun]
        .into_iter()
        .find_map(|t| g.lookup(t.trim_start_matches("the ")))
        .map(|p| p.country)
        .filter(|c| !c.is_empty())
}

/// The name a locative phrase opening at token `k` is about, with a following
/// ", Region" and a lower-case place noun ("Baoding, Hebei province").
fn place_after(v: &View, k: usize, end: usize) -> Option<Range<usize>> {
    let mut start = k;
    while start < end && v.upos(start) == Upos::Det {
        start += 1;
    }
    // The phrase may end right after its determiners ("... hit in the" at a line end).
    if start >= end {
        return None;
    }
    let mut run = name_at(v, start, end)
        .or_else(|| {
            // "downtown Seattle", "central China": lower-case modifiers belong to the place.
            let name = (start + 1..end.min(start + 3)).find_map(|i| name_at(v, i, end))?;
            let modifiers = (start..name.start).all(|i| matches!(v.upos(i), Upos::Adj | Upos::Adv));
            modifiers.then_some(start..name.end)
        })
        .or_else(|| {
            // "the American city of Seattle": a short lead-in, then "of" and a place name.
            let of = (start..end.min(start + MAX_LEAD_IN)).find(|&i| v.lower[i] == "of")?;
            let run = name_at(v, of + 1, end)?;
            (v.entity_at(&v.bytes(&run)).map(|e| e.kind) == Some(EntityKind::Place)).then_some(run)
        })
        .or_else(|| {
            // "in British stores": a demonym stands for the place.
            let demonym = v.upos(start) == Upos::Adj && v.word(start).starts_with(char::is_uppercase);
            (demonym && start + 1 < end && v.upos(start + 1) == Upos::Noun).then(|| start..start + 2)
        })?;
    if run.end + 1 < end && v.word(run.end) == "," {
        // "Baoding, Hebei", not "Cuba, Archbishop Tutu".
        let region = name_at(v, run.end + 1, end)
            .filter(|more| more.len() == 1 || v.entity_at(&v.bytes(more)).is_some_and(|e| e.kind == EntityKind::Place));
        if let Some(more) = region {
            run.end = more.end;
        }
    }
    if run.end < end && PLACE_NOUNS.contains(&v.lower[run.end].as_str()) {
        run.end += 1;
    }
    Some(run)
}

/// The name run starting exactly at token `k`.
fn name_at(v: &View, k: usize, end: usize) -> Option<Range<usize>> {
    if k >= end {
        return None;
    }
    v.name_runs(k..end).into_iter().next().filter(|r| r.start == k)
}

/// Wire-service dateline: capitalised place, optional date and agency, then a dash.
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b([A-Z]{3,}(?:[ -][A-Z]{3,}){0,2})",
        r"(?:,\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2})?",
        r"\s+(?:\([A-Za-z ]{2,20}\)\s+)?",
        r"(?:--|—|–|-)\s+[A-Z“\x22]",
    ))
    .expect("valid dateline regex")
});

/// Bytes of the body searched for a dateline: it comes before the story, after at most a
/// headline, byline or captions.
const DATELINE_WINDOW: usize = 1500;

/// Byte range of the place in the body's dateline, if it has one.
pub(crate) fn dateline(body: &str) -> Option<Range<usize>> {
    let end = body.floor_char_boundary(DATELINE_WINDOW);
    DATELINE
        .captures(&body[..end])
        .and_then(|c| c.get(1))
        .map(|m| m.range())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlp::Pipeline;

    fn place(text: &str) -> Option<String> {
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let v = View::new(text, &s, Vec::new(), false);
        locative(&v, 0..v.len()).map(|r| text[v.bytes(&r)].to_string())
    }

    #[test]
    fn locative_names() {
        assert_eq!(
            place("The minister arrived in Beijing for talks.").as_deref(),
            Some("Beijing")
        );
        assert_eq!(
            place("A man was hurt in the American city of Portland last night.").as_deref(),
            Some("Portland")
        );
        assert_eq!(
            place("The boy fell down a well in Baoding, Hebei province on Sunday.").as_deref(),
            Some("Baoding, Hebei province")
        );
        assert_eq!(place("She said it in a letter to the board."), None);
    }

    fn view_of<'a>(text: &'a str, s: &'a crate::nlp::Sentence) -> View<'a> {
        View::new(text, s, Vec::new(), false)
    }

    #[test]
    fn lexicon_places_stand_as_modifiers_and_demonyms_give_their_country() {
        let text = "Lyon metro strike enters third day";
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let v = view_of(text, &s);
        assert_eq!(named_place(&v, 0..v.len()).map(|r| &text[v.bytes(&r)]), Some("Lyon"));
        let text = "The Dutch embassy in Quito was closed.";
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let v = view_of(text, &s);
        assert_eq!(locative(&v, 0..v.len()).map(|r| &text[v.bytes(&r)]), Some("Quito"));
        let (run, iso) = demonym(&v, 0..v.len()).expect("a demonym");
        assert_eq!((&text[v.bytes(&run)], iso), ("Dutch", "NL"));
        assert_eq!(country_of("Baoding, Hebei province"), Some("CN"));
        assert_eq!(country_of("Quito"), Some("EC"));
    }

    #[test]
    fn names_inside_longer_names_and_organisations_are_no_places() {
        // "Washington" is part of a newspaper's name, "Clinton" of a person's.
        let text = "Washington Post reporter interviews Hillary Clinton";
        let s = Pipeline::embedded().analyze(text, 0..text.len());
        let v = view_of(text, &s);
        assert_eq!(named_place(&v, 0..v.len()), None);
        assert_eq!(place("Officials met at the FBI to discuss the case."), None);
        assert_eq!(place("The bill was debated in the Senate for hours."), None);
        assert_eq!(
            place("Protesters gathered in Paris on Sunday.").as_deref(),
            Some("Paris")
        );
    }

    #[test]
    fn datelines() {
        let body = "By Jo Bloggs WASHINGTON, Nov 6 (Reuters) - The agency said.";
        assert_eq!(dateline(body).map(|r| &body[r]), Some("WASHINGTON"));
        let body = "Photo LONDON -- The peaks are slimmer.";
        assert_eq!(dateline(body).map(|r| &body[r]), Some("LONDON"));
        assert_eq!(dateline("The FBI said on Sunday it would not act."), None);
    }
}
