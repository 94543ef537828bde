//! Place lexicon: countries, US states, cities of more than 15,000 people, continents and
//! regions (GeoNames, CC-BY 4.0), demonyms ("Kenyan" -> Kenya) and other names of countries
//! ("UK", "Holland"), compiled by `scripts/keyfacts/build_places.py` into
//! `models/places/places.tsv` and embedded in the binary.
//!
//! The tagger learns names from context; the lexicon knows them without any, which is what
//! a headline gives ("Lyon metro strike") and what tells a place from an organisation.

use std::collections::HashMap;
use std::sync::LazyLock;

static EMBEDDED: &str = include_str!("../../models/places/places.tsv");

/// Names in the lexicon have at most this many words ("Sterling Heights", "Papua New Guinea").
pub const MAX_WORDS: usize = 4;

/// What kind of name a lexicon entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlaceKind {
    /// A country by its GeoNames name or another common name ("UK").
    Country,
    /// A US state.
    State,
    /// A city or town.
    City,
    /// A continent or world region ("Middle East").
    Region,
    /// A nationality adjective or people ("Dutch", "Brits"): stands for its country.
    Demonym,
}

/// One lexicon entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// Kind of name.
    pub kind: PlaceKind,
    /// ISO 3166-1 alpha-2 code of the country the place belongs to; empty for a region.
    pub country: &'static str,
    /// Population in thousands (cities and countries; 0 where unknown).
    pub population_k: u32,
}

impl Place {
    /// A place whose name alone, without a locative phrase, is a place: countries, states,
    /// regions, demonyms and large cities. A small town's name is often also a surname or
    /// a word ("Clinton", Iowa; "Obama", Japan).
    pub fn unambiguous(&self) -> bool {
        self.kind != PlaceKind::City || self.population_k >= LARGE_TOWN_K
    }
}

/// Cities at least this large (thousands) count as places without a locative phrase.
const LARGE_TOWN_K: u32 = 250;

/// The lexicon, decoded once.
pub struct Gazetteer {
    names: HashMap<&'static str, Place>,
    countries: HashMap<&'static str, &'static str>,
}

static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(|| Gazetteer::parse(EMBEDDED));

impl Gazetteer {
    /// The embedded lexicon.
    pub fn embedded() -> &'static Gazetteer {
        &GAZETTEER
    }

    /// Reads the lexicon's TSV form; malformed lines are skipped.
    fn parse(text: &'static str) -> Gazetteer {
        let mut names = HashMap::with_capacity(40_000);
        let mut countries = HashMap::with_capacity(256);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let (Some(surface), Some(kind), Some(country), Some(pop)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            // The country's GeoNames name ("c"), not another of its names, reports it.
            if kind == "c" {
                countries.entry(country).or_insert(surface);
            }
            let kind = match kind {
                "c" | "a" => PlaceKind::Country,
                "s" => PlaceKind::State,
                "t" => PlaceKind::City,
                "k" => PlaceKind::Region,
                "d" => PlaceKind::Demonym,
                _ => continue,
            };
            names.insert(
                surface,
                Place {
                    kind,
                    country,
                    population_k: pop.parse().unwrap_or(0),
                },
            );
        }
        Gazetteer { names, countries }
    }

    /// The entry for a name as written; an all-capitals name ("WASHINGTON", a dateline) is
    /// also looked up in title case.
    pub fn lookup(&self, name: &str) -> Option<Place> {
        if let Some(p) = self.names.get(name) {
            return Some(*p);
        }
        let letters = name.chars().filter(|c| c.is_alphabetic()).count();
        if letters >= 3 && !name.chars().any(char::is_lowercase) {
            let titled = title_case(name);
            return self.names.get(titled.as_str()).copied();
        }
        None
    }

    /// The country's name for an ISO code ("NL" -> "Netherlands").
    pub fn country_name(&self, iso: &str) -> Option<&'static str> {
        self.countries.get(iso).copied()
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the lexicon is empty (it never is when embedded).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// "NEW YORK" -> "New York", "SAO-PAULO" -> "Sao-Paulo".
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c != '\'';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_knows_places_demonyms_and_their_countries() {
        let g = Gazetteer::embedded();
        assert!(g.len() > 30_000);
        let lyon = g.lookup("Lyon").expect("Lyon");
        assert_eq!((lyon.kind, lyon.country), (PlaceKind::City, "FR"));
        assert!(lyon.unambiguous());
        let dutch = g.lookup("Dutch").expect("Dutch");
        assert_eq!((dutch.kind, dutch.country), (PlaceKind::Demonym, "NL"));
        assert_eq!(g.country_name("NL"), Some("Netherlands"));
        assert_eq!(g.lookup("Kenyan").map(|p| p.country), Some("KE"));
        assert_eq!(
            g.lookup("UK").map(|p| (p.kind, p.country)),
            Some((PlaceKind::Country, "GB"))
        );
        assert_eq!(g.lookup("WASHINGTON").map(|p| p.country), Some("US"));
        assert_eq!(g.lookup("Quito").map(|p| p.country), Some("EC"));
        // A small town named like a person needs a locative phrase to count.
        assert!(!g.lookup("Clinton").is_some_and(|p| p.unambiguous()));
        // Ordinary words are not places, whatever town bears their name.
        assert_eq!(g.lookup("Police"), None);
        assert_eq!(g.lookup("us"), None);
    }
}
