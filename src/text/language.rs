//! Which language an article is written in, for refusing text the English-only pipeline
//! cannot summarise (an untagged French article, or one tagged `en` that is not English).
//!
//! The decision is [whatlang](https://docs.rs/whatlang)'s (trigram profiles of about 70
//! languages, pure Rust, no data files), and it is taken conservatively: only a text of at
//! least [`MIN_WORDS`] words that whatlang calls reliably (its `is_reliable`) a language other
//! than English is [`Identification::Other`]; anything short or ambiguous is
//! [`Identification::Unsure`], which callers let through.
//!
//! Speed: whatlang costs about 50 µs for any text plus about 1 µs per 12 bytes (it lowercases
//! the text and scores every candidate language), which would be as much as a lexical
//! extractive summary. Most articles are plainly English, so a first pass counts English
//! function words ("the", "of", "and", ...) and answers [`Identification::English`] at once
//! when they are at least one word in ten, as in any English prose and in no other language's;
//! it can only ever accept, never refuse, so it cannot add a false refusal. Only the title
//! and the first [`SAMPLE_BYTES`] of the body are read.

/// Fewest words a text needs before a detection is trusted to refuse it.
pub const MIN_WORDS: usize = 20;

/// Bytes of the body read (after the title); plenty for a reliable verdict, and a bound on
/// the time detection takes whatever the body's size.
pub const SAMPLE_BYTES: usize = 4096;

/// Words that are frequent in English and rare as words in other languages written in the
/// Latin script (no "is", "was", "to", "for", "by", "will": Dutch, German, Czech or Danish
/// words too).
const ENGLISH_MARKERS: &[&str] = &[
    "the", "of", "and", "that", "with", "said", "his", "have", "has", "from", "this", "which", "their", "they",
    "would", "been", "who", "its", "it", "she", "are", "not", "but", "were", "about", "after",
];

/// A language other than English, as detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Language {
    /// The language's English name: "French".
    pub name: &'static str,
    /// ISO 639-3 code: "fra".
    pub code: &'static str,
    /// whatlang's confidence, in [0, 1].
    pub confidence: f64,
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.name, self.code)
    }
}

/// What [`identify`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Identification {
    English,
    /// Reliably another language.
    Other(Language),
    /// Too short, or no reliable verdict: treat as English.
    Unsure,
}

/// The language of an article's title and body.
pub fn identify(title: &str, body: &str) -> Identification {
    let body = &body[..floor_char_boundary(body, SAMPLE_BYTES)];
    let (title_words, title_markers) = count_words(title);
    let (body_words, body_markers) = count_words(body);
    let (words, markers) = (title_words + body_words, title_markers + body_markers);
    if words < MIN_WORDS {
        return Identification::Unsure;
    }
    if markers * 10 >= words {
        return Identification::English;
    }
    let sample = format!("{title}\n{body}");
    match whatlang::detect(&sample) {
        Some(info) if info.lang() == whatlang::Lang::Eng => Identification::English,
        Some(info) if info.is_reliable() => Identification::Other(Language {
            name: info.lang().eng_name(),
            code: info.lang().code(),
            confidence: info.confidence(),
        }),
        _ => Identification::Unsure,
    }
}

/// Words in `text` and how many of them are English markers. A word is a run of letters;
/// in scripts written without spaces between words (Chinese, Japanese, Thai, Khmer, Lao,
/// Burmese) each letter counts as one, so that a Chinese paragraph is not "one word".
fn count_words(text: &str) -> (usize, usize) {
    let mut words = 0;
    let mut markers = 0;
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let letter = c.is_alphabetic();
        if !letter || unspaced_script(c) {
            if let Some(s) = start.take() {
                words += 1;
                markers += usize::from(is_marker(&text[s..i]));
            }
            words += usize::from(letter);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words += 1;
        markers += usize::from(is_marker(&text[s..]));
    }
    (words, markers)
}

fn is_marker(word: &str) -> bool {
    word.len() <= 5 && ENGLISH_MARKERS.iter().any(|m| m.eq_ignore_ascii_case(word))
}

/// Letters of scripts that do not separate words with spaces.
fn unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // CJK compatibility ideographs
    )
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRENCH: &str = "Le gouvernement a annoncé mardi un plan de relance de douze milliards d'euros \
        destiné aux petites et moyennes entreprises touchées par la hausse des prix de l'énergie. \
        Selon le ministre, les premières aides seront versées dès le mois prochain.";

    #[test]
    fn english_prose_takes_the_fast_path_and_foreign_prose_does_not() {
        let english = "The council approved the plan on Tuesday after a year of debate, and the mayor said \
            that it would cut traffic in the old town by a third.";
        assert_eq!(identify("", english), Identification::English);
        assert_eq!(count_words(FRENCH).1, 0, "no English markers in French");
        match identify("", FRENCH) {
            Identification::Other(language) => {
                assert_eq!(language.code, "fra");
                assert_eq!(language.to_string(), "French (\"fra\")");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_text_is_unsure() {
        assert_eq!(
            identify("Grève générale", "Les syndicats appellent à la grève."),
            Identification::Unsure
        );
        assert_eq!(identify("", ""), Identification::Unsure);
    }

    #[test]
    fn words_of_unspaced_scripts_count_one_by_one() {
        assert_eq!(count_words("北京市政府周二宣布"), (9, 0));
        assert_eq!(count_words("The 北京 plan, it's"), (6, 2));
        let chinese = "北京市政府周二宣布，将在明年年底前新建三条地铁线路，以缓解城市交通拥堵问题。";
        assert!(matches!(identify("", chinese), Identification::Other(l) if l.code == "cmn"));
    }

    #[test]
    fn the_sample_ends_on_a_char_boundary() {
        let body = "é".repeat(SAMPLE_BYTES);
        assert_eq!(floor_char_boundary(&body, SAMPLE_BYTES + 1), SAMPLE_BYTES);
        assert_eq!(floor_char_boundary(&body, 3), 2);
        let _ = identify("", &body);
    }
}
