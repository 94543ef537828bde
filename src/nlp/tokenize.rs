//! Rule-based word tokeniser following UD/GUM English conventions: punctuation, quotes and
//! hyphens are separate tokens, clitics are split ("Korea's" -> "Korea" "'s", "don't" ->
//! "do" "n't", "cannot" -> "can" "not"), while numbers ("1,000", "3.5"), abbreviations
//! ("U.S.", "Mr."), URLs and e-mail addresses stay whole.

use std::ops::Range;

/// Abbreviations (lower-case, without the final period) that keep their period.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "inc", "ltd", "co", "corp", "vs", "etc", "al",
    "gen", "gov", "sen", "rep", "lt", "col", "capt", "sgt", "cpl", "adm", "pres", "rev", "hon", "no", "nos", "vol",
    "pp", "fig", "ave", "blvd", "rd", "dept", "est", "approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "c", "ca",
    "cf", "viz",
];

/// Words containing a hyphen that GUM keeps whole after these prefixes.
const HYPHEN_PREFIXES: &[&str] = &["e", "non", "pro", "anti", "re", "co", "pre", "ex"];

/// Contractions that UD splits inside an alphabetic word (lower-case, split point).
const FUSED: &[(&str, usize)] = &[("cannot", 3), ("gonna", 3), ("wanna", 3), ("gotta", 3)];

const TLDS: &[&str] = &[
    "com", "org", "net", "gov", "edu", "int", "mil", "io", "uk", "us", "ca", "de", "fr", "au", "info", "biz", "eu",
    "ly", "me", "tv",
];

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Combining diacritics (decomposed accents) belong to the preceding letter.
fn is_combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{20d0}'..='\u{20ff}')
}

/// Word token byte ranges (into `text`) within `range`. The range is clamped to the text and
/// to char boundaries.
pub fn tokenize(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let start = text.floor_char_boundary(range.start);
    let end = text.floor_char_boundary(range.end).max(start);
    let mut out = Vec::new();
    let mut chunk_start = None;
    for (i, c) in text[start..end].char_indices() {
        let i = i + start;
        if c.is_whitespace() || c.is_control() || c == '\u{200b}' || c == '\u{feff}' {
            if let Some(s) = chunk_start.take() {
                split_chunk(text, s, i, &mut out);
            }
        } else if chunk_start.is_none() {
            chunk_start = Some(i);
        }
    }
    if let Some(s) = chunk_start {
        split_chunk(text, s, end, &mut out);
    }
    out
}

/// Length of a URL, e-mail address or bare domain at the start of `s`, without trailing
/// sentence punctuation.
fn url_len(s: &str) -> Option<usize> {
    // Cheap rejection: every URL, address or domain has a '.' or ':' after its first word.
    let first = s.find(|c: char| !c.is_alphanumeric()).unwrap_or(s.len());
    if !s[first..].starts_with(['.', ':', '@', '-']) {
        return None;
    }
    // Bound the work per word on pathological inputs (megabytes without whitespace).
    let s = &s[..s.floor_char_boundary(2048)];
    let lower = s.to_ascii_lowercase();
    let url_like = lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") || {
        let core = lower.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '/');
        let host = core.split('/').next().unwrap_or("");
        let at = host.find('@');
        let domain = at.map_or(host, |a| &host[a + 1..]);
        let labels: Vec<&str> = domain.split('.').collect();
        labels.len() >= 2
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            && TLDS.contains(labels.last().unwrap_or(&""))
            && (at.is_some() || labels[0].len() > 1)
    };
    if !url_like {
        return None;
    }
    let trimmed = s.trim_end_matches(|c: char| ".,;:!?)]}\"'\u{201d}\u{2019}>".contains(c));
    (!trimmed.is_empty()).then_some(trimmed.len())
}

fn split_chunk(text: &str, start: usize, end: usize, out: &mut Vec<Range<usize>>) {
    let s = &text[start..end];
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let at = |k: usize| chars.get(k).map(|c| c.1);
    let off = |k: usize| chars.get(k).map_or(s.len(), |c| c.0);
    let mut k = 0;
    while k < n {
        let c = chars[k].1;
        if c.is_alphanumeric() || (c == '#' || c == '@') && at(k + 1).is_some_and(char::is_alphanumeric) {
            if let Some(len) = url_len(&s[off(k)..]) {
                let stop = off(k) + len;
                out.push(start + off(k)..start + stop);
                while k < n && off(k) < stop {
                    k += 1;
                }
                continue;
            }
            let from = k;
            k += 1;
            let mut segment = 1;
            while k < n {
                let c = chars[k].1;
                let prev = chars[k - 1].1;
                let next = at(k + 1);
                if c.is_alphanumeric() || is_combining(c) {
                    k += 1;
                    segment += 1;
                } else if (c == ',' || c == '.' || c == ':')
                    && prev.is_ascii_digit()
                    && next.is_some_and(|d| d.is_ascii_digit())
                {
                    // 1,000 / 3.5 / 10:30
                    k += 1;
                } else if c == '.' && segment <= 2 && next.is_some_and(char::is_alphabetic) && prev.is_alphabetic() {
                    // U.S / e.g / Ph.D
                    k += 1;
                    segment = 0;
                } else if is_apostrophe(c) && prev.is_alphabetic() && next.is_some_and(char::is_alphabetic) {
                    k += 1;
                    segment += 1;
                } else if c == '&' && prev.is_uppercase() && next.is_some_and(char::is_uppercase) {
                    // AT&T
                    k += 1;
                } else if c == '-'
                    && next.is_some_and(char::is_alphanumeric)
                    && HYPHEN_PREFIXES.contains(&s[off(from)..off(k)].to_lowercase().as_str())
                {
                    k += 1;
                } else {
                    break;
                }
            }
            let mut word_end = off(k);
            let word = &s[off(from)..word_end];
            // Keep the period of abbreviations and initials.
            if at(k) == Some('.') && at(k + 1) != Some('.') {
                let lower = word.to_lowercase();
                let initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
                if initial || word.contains('.') || ABBREVIATIONS.contains(&lower.as_str()) {
                    k += 1;
                    word_end = off(k);
                }
            }
            push_word(start + off(from), &s[off(from)..word_end], out);
        } else {
            let from = k;
            k += 1;
            // Runs of the same mark form one token: "..." "--" "!!" "??".
            if matches!(c, '.' | '-' | '!' | '?' | '*' | '=' | '_') {
                while at(k) == Some(c) {
                    k += 1;
                }
            }
            // An apostrophe after a digit or a closing mark may start a clitic: "1990's".
            if is_apostrophe(c) && from > 0 && chars[from - 1].1.is_alphanumeric() {
                let lower: String = chars[k..].iter().take(3).flat_map(|c| c.1.to_lowercase()).collect();
                let clitic = ["s", "re", "ve", "ll", "d", "m"]
                    .iter()
                    .find(|c| lower.starts_with(**c) && !lower[c.len()..].starts_with(char::is_alphanumeric));
                if let Some(c) = clitic {
                    k = (k + c.len()).min(n);
                }
            }
            out.push(start + off(from)..start + off(k));
        }
    }
}

/// Byte index where `suffix` (lower-case ASCII, `'` matching either apostrophe) starts at
/// the end of `word`, if it does and something precedes it.
fn suffix_start(word: &str, suffix: &str) -> Option<usize> {
    let mut chars = word.char_indices().rev();
    let mut start = word.len();
    for sc in suffix.chars().rev() {
        let (i, wc) = chars.next()?;
        let wc = if is_apostrophe(wc) {
            '\''
        } else {
            wc.to_ascii_lowercase()
        };
        if wc != sc {
            return None;
        }
        start = i;
    }
    (start > 0).then_some(start)
}

/// Splits clitics off one word (with internal apostrophes) and pushes the pieces.
fn push_word(start: usize, word: &str, out: &mut Vec<Range<usize>>) {
    let split = ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"]
        .iter()
        .find_map(|c| suffix_start(word, c))
        .or_else(|| {
            FUSED
                .iter()
                .find(|(fused, _)| word.eq_ignore_ascii_case(fused))
                .map(|(_, i)| *i)
        });
    match split {
        Some(i) => {
            out.push(start..start + i);
            out.push(start + i..start + word.len());
        }
        None => out.push(start..start + word.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokenize(s, 0..s.len()).into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn news_sentence() {
        assert_eq!(
            toks("North Korea's leader Kim Jong-Un arrived in Beijing on Tuesday."),
            [
                "North", "Korea", "'s", "leader", "Kim", "Jong", "-", "Un", "arrived", "in", "Beijing", "on",
                "Tuesday", "."
            ]
        );
    }

    #[test]
    fn quotes_and_contractions() {
        assert_eq!(
            toks("\u{201c}We don't know,\u{201d} he said. \"It can't be.\""),
            [
                "\u{201c}", "We", "do", "n't", "know", ",", "\u{201d}", "he", "said", ".", "\"", "It", "ca", "n't",
                "be", ".", "\""
            ]
        );
        assert_eq!(
            toks("it\u{2019}s the parents' cannot"),
            ["it", "\u{2019}s", "the", "parents", "'", "can", "not"]
        );
        assert_eq!(
            toks("'quasi-state of war'"),
            ["'", "quasi", "-", "state", "of", "war", "'"]
        );
    }

    #[test]
    fn numbers_abbreviations_urls() {
        assert_eq!(
            toks("The U.S. paid $1,250.50 (3.5%) to Mr. Smith on Jan. 5, e.g. today."),
            [
                "The", "U.S.", "paid", "$", "1,250.50", "(", "3.5", "%", ")", "to", "Mr.", "Smith", "on", "Jan.", "5",
                ",", "e.g.", "today", "."
            ]
        );
        assert_eq!(
            toks("See https://www.bbc.co.uk/news/world-44523342. Or mail a@b.com!"),
            [
                "See",
                "https://www.bbc.co.uk/news/world-44523342",
                ".",
                "Or",
                "mail",
                "a@b.com",
                "!"
            ]
        );
        assert_eq!(toks("Wait... no -- yes"), ["Wait", "...", "no", "--", "yes"]);
        assert_eq!(
            toks("an e-mail from a non-profit"),
            ["an", "e-mail", "from", "a", "non-profit"]
        );
    }

    #[test]
    fn offsets_point_into_original_text() {
        let text = "xx  Hello, world!  yy";
        let r = tokenize(text, 4..17);
        let words: Vec<&str> = r.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(words, ["Hello", ",", "world", "!"]);
        assert_eq!(r[0], 4..9);
    }

    #[test]
    fn arbitrary_unicode_does_not_panic() {
        let text = "ÄÖÜ’s n’t ’’ 🙂🙂 ǅemal-İstanbul ﬁne 1,2.3:4 ..‥ a’ ’a \u{301}x İ'S";
        for a in 0..text.len() + 2 {
            for b in a..text.len() + 3 {
                for r in tokenize(text, a..b) {
                    assert!(text.get(r.clone()).is_some_and(|w| !w.is_empty()));
                }
            }
        }
        let (start, end) = (5, 1);
        assert!(tokenize("", start..end).is_empty());
    }
}
