//! Input hygiene for the text a caller sends: control characters out, and a check that a
//! body is text, not an empty shell or a web page's markup.

/// Replaces every control character (C0 and DEL, except tab, line feed and carriage return;
/// C1) so that none reaches a summary, a key fact or a log line, and returns how many it
/// replaced. Offsets stay valid both ways, in bytes and in code points (the API's unit): an
/// ASCII control (one byte) becomes a space (one byte), and a C1 control, U+0080 to U+009F,
/// two bytes in UTF-8 (`C2 80` to `C2 9F`), becomes U+00A0 NO-BREAK SPACE (`C2 A0`): also two
/// bytes and one code point, and whitespace to the segmenter and tokeniser. Two spaces would
/// keep the byte length but add a code point, shifting every offset after it by one against
/// the caller's own text; one space would keep code points but shift byte offsets.
pub fn replace_controls(text: &mut String) -> usize {
    let is_control = |b: &[u8]| match b {
        [b, ..] if *b < 0x20 => !matches!(*b, b'\t' | b'\n' | b'\r'),
        [0x7F, ..] => true,
        [0xC2, next, ..] => (0x80..=0x9F).contains(next),
        _ => false,
    };
    let bytes = text.as_bytes();
    if !(0..bytes.len()).any(|i| is_control(&bytes[i..])) {
        return 0;
    }
    let mut bytes = std::mem::take(text).into_bytes();
    let mut replaced = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_control(&bytes[i..]) {
            replaced += 1;
            if bytes[i] == 0xC2 {
                // 0xC2 is only ever a lead byte, so this is the whole character.
                bytes[i + 1] = 0xA0;
                i += 2;
                continue;
            }
            bytes[i] = b' ';
        }
        i += 1;
    }
    *text = String::from_utf8(bytes).expect("only whole characters were replaced, by characters of the same length");
    replaced
}

/// Whether `text` has a letter or a digit: a body of punctuation, emoji or (replaced)
/// control characters only has nothing to summarise.
pub fn has_text(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Fewest tags before a body can count as mostly tags.
const MIN_TAGS: usize = 5;

/// Whether `body` is a whole HTML page rather than an article's text: it starts (after
/// whitespace) with `<!DOCTYPE html` or `<html`, in any case, or at least half of its
/// non-whitespace bytes are inside tags (`<p>`, `</div>`, `<a href="...">`, `<!-- -->`) with
/// at least [`MIN_TAGS`] of them. A few inline tags in real text do not make it markup. Linear
/// in the body's length.
pub fn looks_like_html_page(body: &str) -> bool {
    let start = body.trim_start().as_bytes();
    let starts_with = |prefix: &[u8]| start.len() >= prefix.len() && start[..prefix.len()].eq_ignore_ascii_case(prefix);
    if starts_with(b"<!doctype html") || starts_with(b"<html") {
        return true;
    }
    let bytes = body.as_bytes();
    let mut tags = 0;
    let mut tag_bytes = 0;
    let mut i = 0;
    while let Some(open) = memchr::memchr(b'<', &bytes[i..]).map(|at| i + at) {
        let opens_tag = bytes
            .get(open + 1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?'));
        if !opens_tag {
            i = open + 1;
            continue;
        }
        // With no `>` after this `<`, no later `<` has one either.
        let Some(close) = memchr::memchr(b'>', &bytes[open..]).map(|at| open + at) else {
            break;
        };
        tags += 1;
        tag_bytes += bytes[open..=close].iter().filter(|b| !b.is_ascii_whitespace()).count();
        i = close + 1;
    }
    let visible = bytes.iter().filter(|b| !b.is_ascii_whitespace()).count();
    tags >= MIN_TAGS && tag_bytes * 2 >= visible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_spaces_of_the_same_length() {
        let mut text = "a\0b\u{7}c\td\ne\rf\u{7f}g\u{85}h\u{9f}i\u{a0}é".to_string();
        let (bytes, chars) = (text.len(), text.chars().count());
        assert_eq!(replace_controls(&mut text), 5);
        assert_eq!(text, "a b c\td\ne\rf g\u{a0}h\u{a0}i\u{a0}é");
        assert_eq!((text.len(), text.chars().count()), (bytes, chars));
        let mut clean = "Nothing to do: é, ü, ‘quotes’.".to_string();
        assert_eq!(replace_controls(&mut clean), 0);
    }

    #[test]
    fn text_needs_a_letter_or_digit() {
        assert!(!has_text("  \u{a0} ... !!! 🎉🎉 —"));
        assert!(has_text("🎉 2024"));
        assert!(has_text("北京"));
    }

    #[test]
    fn pages_are_markup_and_articles_with_a_few_tags_are_not() {
        assert!(looks_like_html_page(
            "\n  <!DOCTYPE HTML><html><body>News</body></html>"
        ));
        assert!(looks_like_html_page("<HTML lang=\"en\">"));
        let soup =
            "<div class=\"nav\"><ul><li><a href=\"/\">Home</a></li><li><a href=\"/news\">News</a></li></ul></div>";
        assert!(looks_like_html_page(soup));
        let article = "<p>The council approved the plan on Tuesday after a year of debate.</p>\n\
            <p>The mayor said it would cut traffic in the old town by a third, and that work \
            would begin in <b>March</b>.</p>";
        assert!(!looks_like_html_page(article));
        assert!(!looks_like_html_page("If a < b and c > d, then a <3 b. x<y"));
        assert!(!looks_like_html_page(&"<".repeat(10_000)));
    }
}
