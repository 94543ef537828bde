//! Rule-based sentence segmentation for news text.
//!
//! [`split_sentences`] returns byte ranges into the caller's text, so every
//! later stage (cleaning, ranking, the gRPC edge) can point back into the
//! original article without copying it.
//!
//! The rules are tuned for English news as users paste it: abbreviations and
//! initials (`Mr.`, `U.S.`, `George W. Bush`), quotes that close after the
//! sentence-final mark, decimals and money (`3.5`, `$1.2bn`), ellipses, line
//! breaks that separate headlines or site-navigation lines, sentences glued
//! together without a space (`months.It`), which scraped text carries, and
//! picture captions glued to the next sentence with no full stop at all
//! (`… last Saturday The kite weighs …`).

use std::ops::Range;

/// Splits `text` into sentences.
///
/// Each range is a byte range into `text`, on char boundaries, trimmed of
/// surrounding whitespace and non-empty. Ranges are in order, do not overlap,
/// and together cover every non-whitespace character of `text`.
pub fn split_sentences(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut out = Vec::new();
    let mut start = 0usize; // char index where the current sentence starts
    let mut i = 0usize;
    while i < n {
        let c = chars[i].1;
        if c == '\n' {
            if line_break_is_boundary(&chars, start, i) {
                push_trimmed(text, byte_at(start)..byte_at(i), &mut out);
                start = i + 1;
            }
            i += 1;
            continue;
        }
        if c == ' '
            && chars.get(i + 1).is_some_and(|&(_, c)| c.is_ascii_uppercase())
            && unpunctuated_boundary(&chars, start, i)
        {
            push_trimmed(text, byte_at(start)..byte_at(i), &mut out);
            start = i + 1;
            i += 1;
            continue;
        }
        if is_terminal(c) {
            let mut j = i + 1;
            while j < n && is_terminal(chars[j].1) {
                j += 1;
            }
            let run_end = j;
            while j < n && is_closer(chars[j].1) {
                j += 1;
            }
            if terminal_is_boundary(&chars, start, i, run_end, j) {
                push_trimmed(text, byte_at(start)..byte_at(j), &mut out);
                start = j;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    push_trimmed(text, byte_at(start)..text.len(), &mut out);
    out.into_iter().flat_map(|range| split_overlong(text, range)).collect()
}

/// Longest run returned as one sentence, in bytes. Real sentences are far shorter (a
/// 60-word sentence is about 400 bytes); longer runs are text without sentence breaks (a
/// transcript, a list, a scrape gone wrong), which would otherwise come back whole.
pub const MAX_SENTENCE_BYTES: usize = 1500;

/// `range` of `text`, cut into pieces of at most [`MAX_SENTENCE_BYTES`]: at the last clause
/// mark (`;` `:` `,` or a dash) followed by a space in the second half of the window, else
/// at the last space, else at a character boundary.
fn split_overlong(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = range.start;
    while range.end - start > MAX_SENTENCE_BYTES {
        let limit = text.floor_char_boundary(start + MAX_SENTENCE_BYTES);
        let window = &text[start..limit];
        let half = window.len() / 2;
        let clause = window
            .rmatch_indices([';', ':', ',', '\u{2014}', '\u{2013}'])
            .take_while(|(i, _)| *i >= half)
            .find(|(i, mark)| window[i + mark.len()..].starts_with(char::is_whitespace))
            .map(|(i, mark)| i + mark.len());
        let cut = clause
            .or_else(|| window.rfind(char::is_whitespace).filter(|&i| i > 0))
            .map_or(limit, |i| start + i);
        push_trimmed(text, start..cut, &mut pieces);
        start = cut;
    }
    push_trimmed(text, start..range.end, &mut pieces);
    pieces
}

/// Abbreviations that precede a name and practically never end a sentence.
const TITLE_ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "messrs", "mme", "dr", "prof", "rev", "revd", "gen", "col", "lt", "sgt", "capt", "cpl", "pte",
    "maj", "adm", "cmdr", "gov", "sen", "rep", "hon", "pres", "supt", "insp", "det", "st", "mt", "ft", "fr", "vs", "v",
    "cf", "viz", "approx", "ca", "al",
];

/// Abbreviations that do not end a sentence when a number follows (`No. 10`,
/// `Jan. 5`), but may when a capitalised word does (`No. That was it.`).
const NUMBER_ABBREVIATIONS: &[&str] = &[
    "no", "nos", "vol", "vols", "pp", "p", "art", "sec", "fig", "ch", "op", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec",
];

/// Words that commonly open a sentence; after a dotted acronym (`U.S.`,
/// `p.m.`) they signal a boundary, whereas a proper noun (`U.S. President`)
/// does not.
const SENTENCE_STARTERS: &[&str] = &[
    "a",
    "after",
    "all",
    "also",
    "an",
    "and",
    "as",
    "at",
    "but",
    "by",
    "for",
    "from",
    "he",
    "her",
    "his",
    "however",
    "i",
    "if",
    "in",
    "it",
    "its",
    "many",
    "meanwhile",
    "most",
    "mr",
    "mrs",
    "ms",
    "now",
    "on",
    "one",
    "our",
    "she",
    "so",
    "some",
    "that",
    "the",
    "their",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "to",
    "we",
    "what",
    "when",
    "where",
    "while",
    "who",
    "why",
    "with",
    "yet",
    "you",
];

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…') || is_ideographic_terminal(c)
}

/// Chinese and Japanese full stops, exclamation and question marks (full and half width).
/// Those scripts put no space after a sentence, so these end one wherever they stand.
fn is_ideographic_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '｡')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»' | '›' | '」' | '』' | '）')
}

fn is_opener(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '‘' | '(' | '[' | '«' | '‹')
}

/// Decides whether the terminal run `chars[i..run_end]` (followed by closing
/// quotes/brackets up to `after`) ends the sentence that began at `start`.
fn terminal_is_boundary(chars: &[(usize, char)], start: usize, i: usize, run_end: usize, after: usize) -> bool {
    if is_ideographic_terminal(chars[run_end - 1].1) {
        return true;
    }
    let n = chars.len();
    let mut k = after;
    while k < n && chars[k].1.is_whitespace() {
        k += 1;
    }
    if k == n {
        return true;
    }
    let spaced = k > after;
    let mut m = k;
    while m < n && is_opener(chars[m].1) {
        m += 1;
    }
    let Some(&(_, next)) = chars.get(m) else {
        return true;
    };
    // The last character before the mark that is not a closing quote, so
    // `profiles".Media` is judged by the `s`.
    let prev = chars[start..i].iter().rev().map(|&(_, c)| c).find(|&c| !is_closer(c));
    let token = token_before(chars, start, i);

    if !spaced {
        // Glued sentences ("months.It will") from scraped text: demand a
        // lowercase word before and a capitalised word after, which decimals,
        // URLs and acronyms do not produce.
        let followed_by_lower = chars.get(m + 1).is_some_and(|&(_, c)| c.is_lowercase());
        return prev.is_some_and(|c| c.is_lowercase() || c.is_ascii_digit())
            && next.is_uppercase()
            && followed_by_lower
            && token.chars().filter(|c| c.is_alphanumeric()).count() >= 2
            && !TITLE_ABBREVIATIONS.contains(&token.to_lowercase().as_str());
    }
    if next.is_lowercase() || !(next.is_alphanumeric() || m > k) {
        // A lowercase continuation or a following comma/dash means the mark
        // was internal: `"Why?" he asked`, `etc., and`.
        return false;
    }
    let run_len = run_end - i;
    if chars[i].1 != '.' || run_len > 1 {
        return true;
    }
    if token.is_empty() {
        return true;
    }
    let lower = token.to_lowercase();
    if token.chars().all(|c| c.is_ascii_digit()) {
        // A list number opening a line ("1. Scores") is not a sentence.
        return !(token.len() <= 2 && token_starts_sentence(chars, start, i, &token));
    }
    if TITLE_ABBREVIATIONS.contains(&lower.as_str()) {
        return false;
    }
    if NUMBER_ABBREVIATIONS.contains(&lower.as_str()) && next.is_ascii_digit() {
        return false;
    }
    let mut letters = token.chars().filter(|c| c.is_alphabetic());
    if let (Some(first), None) = (letters.next(), letters.next()) {
        // A lone capital is an initial ("George W. Bush"), unless it follows
        // a word that makes it a name of its own ("Plan B. The").
        if first.is_uppercase() && token.chars().count() == 1 {
            return false;
        }
    }
    if token.contains('.') && token.chars().any(|c| c.is_alphabetic()) {
        return SENTENCE_STARTERS.contains(&next_word(chars, m).to_lowercase().as_str());
    }
    true
}

/// Capitalised words that open a new clause and practically never stand
/// capitalised inside one; see [`unpunctuated_boundary`]. A `match` rather
/// than a list: it runs at every capitalised word.
fn is_clause_opener(word: &str) -> bool {
    matches!(
        word,
        "A" | "After"
            | "Although"
            | "An"
            | "And"
            | "As"
            | "At"
            | "Both"
            | "But"
            | "During"
            | "Each"
            | "He"
            | "Her"
            | "His"
            | "However"
            | "In"
            | "It"
            | "Its"
            | "Many"
            | "Meanwhile"
            | "On"
            | "She"
            | "Some"
            | "The"
            | "Their"
            | "There"
            | "These"
            | "They"
            | "This"
            | "Those"
            | "We"
            | "When"
            | "While"
    )
}

/// The clause openers that are not also common words of titles and names
/// (`Carry On`, `Just Lose It`), so they mark a boundary even after a
/// capitalised word.
const STRONG_OPENERS: &[&str] = &["And", "But", "He", "However", "She", "The", "They", "We"];

/// A sentence boundary with no punctuation at the space `chars[i]`: scraped
/// pages glue picture captions, which carry no full stop, to the next
/// sentence (`… in Chongqing last Saturday The kite weighs …`). The space
/// is a boundary when a word that can end a sentence is followed by either
/// - a capitalised clause opener and a lowercase word (or, for `However`,
///   a comma): requiring the lowercase word rules out titles and names
///   (`read The Times`), and after a capitalised word, where a title may be
///   running (`Carry On films`), only [`STRONG_OPENERS`] count; or
/// - a caption label (`… the deadly gunfight Chaos: During the footage`),
///   after a lowercase word.
fn unpunctuated_boundary(chars: &[(usize, char)], start: usize, i: usize) -> bool {
    let Some(&(_, prev)) = i.checked_sub(1).and_then(|p| chars.get(p)) else {
        return false;
    };
    let word_start = i + 1;
    if i <= start || !(prev.is_lowercase() || prev.is_ascii_digit() || prev == ')') {
        return false;
    }
    let mut j = word_start;
    while j < chars.len() && chars[j].1.is_alphabetic() && j - word_start < 10 {
        j += 1;
    }
    // Every opener is short ASCII: spell the word into a stack buffer, as
    // this runs at every capitalised word.
    let mut buf = [0u8; 10];
    let mut len = 0;
    for &(_, c) in &chars[word_start..j] {
        if !c.is_ascii() {
            len = 0;
            break;
        }
        buf[len] = c as u8;
        len += 1;
    }
    let word = std::str::from_utf8(&buf[..len]).unwrap_or_default();
    let capitalised_before = chars[start..i]
        .iter()
        .rev()
        .take_while(|&&(_, c)| !c.is_whitespace())
        .any(|&(_, c)| c.is_uppercase());
    let boundary = if is_clause_opener(word) {
        let opens_clause = match chars.get(j).map(|&(_, c)| c) {
            Some(',') => word == "However" || word == "Meanwhile",
            Some(' ') => chars.get(j + 1).is_some_and(|&(_, c)| c.is_lowercase()),
            _ => false,
        };
        opens_clause && (!capitalised_before || STRONG_OPENERS.contains(&word))
    } else {
        !capitalised_before && caption_label_follows(chars, j)
    };
    // No sentence ends on an article or a preposition (`the On the Mat
    // studio` names something), and a caption is a clause of its own:
    // shorter runs are more often a prompt (`Scroll down for video`).
    boundary
        && !UNFINISHED_ENDINGS.contains(&token_before(chars, start, i).as_str())
        && chars[start..i]
            .split(|&(_, c)| c.is_whitespace())
            .filter(|w| !w.is_empty())
            .count()
            >= MIN_CAPTION_WORDS
}

/// Whether the capitalised word ending at `chars[j]` opens a caption label:
/// at most two lowercase words more, then a colon and a capitalised word
/// and a lowercase one (`Chaos: During the footage`, `High stakes: The
/// pair`), which a title (`CSI: Crime Scene`) or a quote (`told Reuters:
/// "We`) does not give.
fn caption_label_follows(chars: &[(usize, char)], mut j: usize) -> bool {
    for _ in 0..3 {
        match chars.get(j).map(|&(_, c)| c) {
            Some(':') => {
                let mut k = j + 2;
                if !(chars.get(j + 1).is_some_and(|&(_, c)| c == ' ')
                    && chars.get(k).is_some_and(|&(_, c)| c.is_uppercase()))
                {
                    return false;
                }
                while k < chars.len() && !chars[k].1.is_whitespace() {
                    k += 1;
                }
                return chars.get(k + 1).is_some_and(|&(_, c)| c.is_lowercase());
            }
            Some(' ') if chars.get(j + 1).is_some_and(|&(_, c)| c.is_lowercase()) => {
                j += 1;
                while j < chars.len() && chars[j].1.is_alphabetic() {
                    j += 1;
                }
            }
            _ => return false,
        }
    }
    false
}

/// Fewest words before an unpunctuated boundary.
const MIN_CAPTION_WORDS: usize = 5;

/// Words a sentence cannot end on.
const UNFINISHED_ENDINGS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with",
];

/// The whitespace-delimited token that ends just before `chars[i]`, with any
/// opening quotes or brackets stripped, as a String.
fn token_before(chars: &[(usize, char)], start: usize, i: usize) -> String {
    let mut b = i;
    while b > start && !chars[b - 1].1.is_whitespace() {
        b -= 1;
    }
    while b < i && is_opener(chars[b].1) {
        b += 1;
    }
    chars[b..i].iter().map(|&(_, c)| c).collect()
}

/// Whether `token` (ending at `i`) is the first token of the sentence.
fn token_starts_sentence(chars: &[(usize, char)], start: usize, i: usize, token: &str) -> bool {
    let token_chars = token.chars().count();
    chars[start..i - token_chars.min(i - start)]
        .iter()
        .all(|&(_, c)| c.is_whitespace() || is_opener(c))
}

fn next_word(chars: &[(usize, char)], m: usize) -> String {
    chars[m..]
        .iter()
        .map(|&(_, c)| c)
        .take_while(|c| c.is_alphabetic())
        .collect()
}

/// A line break separates sentences (headlines, navigation lines, paragraphs)
/// unless it merely wraps a running sentence: the next line starts in
/// lowercase after an unfinished line, or the line ended with a full stop
/// that the punctuation rules already judged (`Mr.` at a wrap).
fn line_break_is_boundary(chars: &[(usize, char)], start: usize, i: usize) -> bool {
    let n = chars.len();
    let mut k = i + 1;
    while k < n && chars[k].1.is_whitespace() && chars[k].1 != '\n' {
        k += 1;
    }
    if k >= n || chars[k].1 == '\n' {
        return true;
    }
    let mut p = i;
    while p > start && chars[p - 1].1.is_whitespace() {
        p -= 1;
    }
    if p == start {
        return true;
    }
    let mut q = p;
    while q > start && is_closer(chars[q - 1].1) {
        q -= 1;
    }
    if q > start && is_terminal(chars[q - 1].1) {
        return false;
    }
    let last = chars[p - 1].1;
    let mut m = k;
    while m < n && is_opener(chars[m].1) {
        m += 1;
    }
    let next_lower = chars.get(m).is_some_and(|&(_, c)| c.is_lowercase());
    let unfinished = last.is_alphanumeric() || matches!(last, ',' | ';' | ':' | '-' | '–' | '—');
    !(next_lower && unfinished)
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let slice = &text[range.clone()];
    let lead = slice.len() - slice.trim_start().len();
    let trimmed = slice.trim();
    if !trimmed.is_empty() {
        let s = range.start + lead;
        out.push(s..s + trimmed.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_sentence_breaks_is_cut_into_bounded_pieces() {
        let text = "word ".repeat(100_000) + "and a last clause, with more words";
        let pieces = split_sentences(&text);
        assert!(pieces.len() > 300, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|r| r.len() <= MAX_SENTENCE_BYTES));
        let words: usize = pieces.iter().map(|r| text[r.clone()].split_whitespace().count()).sum();
        assert_eq!(words, text.split_whitespace().count(), "every word in one piece");
        let clauses = "a long clause of words, ".repeat(100);
        let cut = split_sentences(&clauses);
        assert!(
            cut.iter().all(|r| clauses[r.clone()].ends_with(',')),
            "cut after clause marks"
        );
        let unbroken = "x".repeat(4000);
        assert!(split_sentences(&unbroken).iter().all(|r| r.len() <= MAX_SENTENCE_BYTES));
        let normal = "The council approved the budget on Monday. Spending will rise.";
        assert_eq!(split_sentences(normal).len(), 2);
    }

    fn sents(text: &str) -> Vec<&str> {
        split_sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn chinese_and_japanese_sentence_marks_end_sentences_without_a_space() {
        assert_eq!(
            sents("北京今天下雨。市长发表了讲话！会议何时结束？"),
            ["北京今天下雨。", "市长发表了讲话！", "会议何时结束？"]
        );
        assert_eq!(
            sents("東京で会議が開かれた。「成功です。」The mayor spoke."),
            ["東京で会議が開かれた。", "「成功です。」", "The mayor spoke."]
        );
    }

    #[test]
    fn splits_plain_sentences() {
        assert_eq!(
            sents("The cat sat. The dog ran! Did it? Yes."),
            vec!["The cat sat.", "The dog ran!", "Did it?", "Yes."]
        );
    }

    #[test]
    fn keeps_abbreviations_and_initials() {
        assert_eq!(
            sents("Mr. Smith met Dr. Jones in the U.S. capital. George W. Bush was there."),
            vec![
                "Mr. Smith met Dr. Jones in the U.S. capital.",
                "George W. Bush was there."
            ]
        );
        assert_eq!(
            sents("It fell on Jan. 5 at No. 10 Downing St. in London. Then it rose."),
            vec!["It fell on Jan. 5 at No. 10 Downing St. in London.", "Then it rose."]
        );
    }

    #[test]
    fn dotted_acronym_can_end_a_sentence() {
        assert_eq!(
            sents("He moved to the U.S. The move paid off. It ended at 5 p.m. They left."),
            vec![
                "He moved to the U.S.",
                "The move paid off.",
                "It ended at 5 p.m.",
                "They left."
            ]
        );
    }

    #[test]
    fn keeps_numbers_and_money() {
        assert_eq!(
            sents("Profits rose 3.5% to $1.2bn in 2004. Sales were 10,000.5 units."),
            vec!["Profits rose 3.5% to $1.2bn in 2004.", "Sales were 10,000.5 units."]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            sents("He said: \"We won.\" She left. “It is over,” he said. “Really?” she asked."),
            vec![
                "He said: \"We won.\"",
                "She left.",
                "“It is over,” he said.",
                "“Really?” she asked."
            ]
        );
        assert_eq!(
            sents("'It's done.' Then he went."),
            vec!["'It's done.'", "Then he went."]
        );
    }

    #[test]
    fn ellipses() {
        assert_eq!(
            sents("He paused... and went on. Then … Nothing happened."),
            vec!["He paused... and went on.", "Then …", "Nothing happened."]
        );
    }

    #[test]
    fn line_breaks_separate_headlines_and_navigation() {
        let text =
            "- News>\n- World\nKim lands in Beijing\nThe trip was secret. It\nwas not announced.\n\nNew paragraph";
        assert_eq!(
            sents(text),
            vec![
                "- News>",
                "- World",
                "Kim lands in Beijing",
                "The trip was secret.",
                "It\nwas not announced.",
                "New paragraph"
            ]
        );
    }

    #[test]
    fn glued_sentences_from_scraped_text() {
        assert_eq!(
            sents("Drilling stopped after the tremor.It will study \"profiles\".Data from bbc.co.uk."),
            vec![
                "Drilling stopped after the tremor.",
                "It will study \"profiles\".",
                "Data from bbc.co.uk."
            ]
        );
    }

    #[test]
    fn glued_captions_are_split_off() {
        assert_eq!(
            sents("The kite took to the sky in Chongqing last Saturday The kite weighs 200 kilograms."),
            vec![
                "The kite took to the sky in Chongqing last Saturday",
                "The kite weighs 200 kilograms."
            ]
        );
        assert_eq!(
            sents("The band was filmed moments before a deadly gunfight Chaos: During the footage, a man shouts."),
            vec![
                "The band was filmed moments before a deadly gunfight",
                "Chaos: During the footage, a man shouts."
            ]
        );
        assert_eq!(
            sents("Britain and the US were close under Thatcher and Reagan However, the memo says otherwise."),
            vec![
                "Britain and the US were close under Thatcher and Reagan",
                "However, the memo says otherwise."
            ]
        );
    }

    #[test]
    fn titles_and_names_are_not_split() {
        for text in [
            "She starred in nine of the popular Carry On films over the years.",
            "He scored 14 goals in 20 Serie A appearances this season.",
            "It was a spin-off from the highly successful CSI: Crime Scene Investigation series.",
            "A lawyer for the victims told Reuters: \"This demonstrates the case.\"",
            "The story was first reported by The Times of London last week.",
            "We met at the studio of the On the Mat club in February.",
            "Scroll down for video The jury agreed.",
        ] {
            assert_eq!(sents(text).len(), 1, "{text}");
        }
    }

    #[test]
    fn list_numbers_do_not_form_sentences() {
        assert_eq!(
            sents("1. Know your rights\n2. Ask questions"),
            vec!["1. Know your rights", "2. Ask questions"]
        );
    }

    #[test]
    fn ranges_are_trimmed_byte_offsets() {
        let text = "  Héllo wörld.   Ça va?  ";
        let ranges = split_sentences(text);
        assert_eq!(ranges.len(), 2);
        assert_eq!(&text[ranges[0].clone()], "Héllo wörld.");
        assert_eq!(&text[ranges[1].clone()], "Ça va?");
    }

    #[test]
    fn empty_and_blank_inputs() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences(" \n\t\n ").is_empty());
        assert_eq!(sents("..."), vec!["..."]);
    }

    /// Property-style check over pseudo-random strings built from characters
    /// that exercise every rule.
    #[test]
    fn arbitrary_input_yields_valid_ranges() {
        const ALPHABET: &[char] = &[
            'a', 'B', 'z', 'Q', '1', '9', ' ', ' ', '\n', '\t', '.', '.', '!', '?', '…', '"', '\'', '“', '”', '‘', '’',
            '(', ')', '[', ']', ',', '-', 'é', 'Ü', '中', '\u{a0}', '🙂', '$',
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 80) as usize;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let ranges = split_sentences(&text);
            let mut last_end = 0;
            for r in &ranges {
                assert!(r.start < r.end && r.end <= text.len(), "{text:?} {r:?}");
                assert!(r.start >= last_end, "overlap in {text:?}");
                assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
                let s = &text[r.clone()];
                assert_eq!(s, s.trim(), "untrimmed range in {text:?}");
                assert!(text[last_end..r.start].trim().is_empty(), "gap lost text in {text:?}");
                last_end = r.end;
            }
            assert!(text[last_end..].trim().is_empty(), "tail lost in {text:?}");
        }
    }

    #[test]
    fn huge_input_does_not_blow_up() {
        let text = "Word. ".repeat(200_000);
        assert_eq!(split_sentences(&text).len(), 200_000);
    }
}
