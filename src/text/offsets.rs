//! Byte offsets are what Rust slices with; API clients count Unicode code points. The
//! conversion happens once, when a response is assembled.

use std::ops::Range;

/// Code point offset of `byte` in `text`. `byte` must lie on a char boundary.
pub fn char_offset(text: &str, byte: usize) -> u32 {
    let count = text[..byte].chars().count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Code point range of the byte range `range` in `text`.
pub fn char_range(text: &str, range: &Range<usize>) -> Range<u32> {
    let start = char_offset(text, range.start);
    let inner = text[range.clone()].chars().count();
    start..start.saturating_add(u32::try_from(inner).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_code_points_not_bytes() {
        let text = "Émile said “yes”.";
        let byte_start = text.find("yes").unwrap();
        let range = byte_start..byte_start + 3;
        assert_eq!(char_range(text, &range), 12..15);
        let chars: Vec<char> = text.chars().collect();
        let got: String = chars[12..15].iter().collect();
        assert_eq!(got, "yes");
    }
}
